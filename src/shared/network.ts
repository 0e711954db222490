import { isIPv4, isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Names that always mean "this machine" or a cloud metadata service. */
const BLOCKED_HOSTNAMES = [/^localhost$/i, /\.localhost$/i, /^metadata\.google\.internal$/i, /^metadata$/i];

/** The NAT64 well-known prefix (RFC 6052): public IPv4 behind it is reachable from IPv6-only hosts. */
const WELL_KNOWN_NAT64 = ipaddr.parseCIDR('64:ff9b::/96');
/**
 * IPv4-compatible addresses (::a.b.c.d, deprecated by RFC 4291 but still routed by some stacks):
 * the library files them as unicast.
 */
const IPV4_COMPATIBLE = ipaddr.parseCIDR('::/96');

/** The IPv4 address an IPv6 one carries, if it carries one; `null` for ranges that are never public. */
function embeddedIPv4(address: ipaddr.IPv6): ipaddr.IPv4 | null | undefined {
  const words = address.parts;
  const v4 = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 255, lo >> 8, lo & 255]);
  const last = () => v4(words[6] ?? 0, words[7] ?? 0);
  switch (address.range()) {
    case 'ipv4Mapped': // ::ffff:a.b.c.d
    case 'rfc6145': // ::ffff:0:a.b.c.d (IPv4-translated)
      return last();
    case 'rfc6052':
      // 64:ff9b::/96 embeds the address last; 64:ff9b:1::/48 is for local use (RFC 8215), where
      // the operator picks where it goes: never a public provider.
      return address.match(WELL_KNOWN_NAT64) ? last() : null;
    case '6to4': // 2002:aabb:ccdd::/48
      return v4(words[1] ?? 0, words[2] ?? 0);
    case 'unicast':
      return address.match(IPV4_COMPATIBLE) ? last() : undefined;
    default:
      return undefined;
  }
}

/**
 * Which addresses a provider (or webhook) may point at unless it sets allowPrivateNetwork: those
 * ipaddr.js classifies as plain `unicast`, nothing else (loopback, private, carrier-grade NAT,
 * link-local with the cloud metadata endpoints, unique-local, multicast, documentation,
 * benchmarking and the other special ranges, as the library keeps them up to date). An IPv6
 * address that carries an IPv4 one (mapped, IPv4-translated, NAT64, 6to4, the deprecated
 * IPv4-compatible form) is judged by the IPv4 address it reaches. Used when a provider is saved
 * and again when the proxy connects, so a DNS answer cannot smuggle a private address past the
 * save-time check.
 */
export function isPrivateAddress(address: string): boolean {
  const ip = address.replace(/^\[|\]$/g, '');
  // node:net decides what is an address literal (it accepts no shorthand IPv4 such as 127.1,
  // which ipaddr.js would): anything else is a name, checked when it is resolved.
  if (isIPv4(ip)) return ipaddr.IPv4.parse(ip).range() !== 'unicast';
  const bare = ip.split('%')[0] ?? ip;
  if (!isIPv6(bare)) return false;
  const v6 = ipaddr.IPv6.parse(bare);
  const v4 = embeddedIPv4(v6);
  if (v4 === null) return true;
  if (v4) return v4.range() !== 'unicast';
  return v6.range() !== 'unicast';
}

/**
 * Checks a URL's host as written. The WHATWG URL parser has already normalised IPv4 written in
 * decimal, hex or octal (http://2130706433/, http://0x7f.1/) to dotted form, so one check covers
 * every encoding. Host names are checked against names that always mean "this machine" or a
 * metadata service; what a name resolves to is checked when the proxy connects.
 */
export function privateHostReason(url: URL): string | undefined {
  // A fully qualified name may end with the root's dot ("localhost." is localhost to a resolver);
  // the URL parser keeps it, so it is dropped before comparing names.
  const host = url.hostname.replace(/\.+$/, '');
  if (BLOCKED_HOSTNAMES.some((pattern) => pattern.test(host))) {
    return `host "${host}" is a local or metadata name`;
  }
  if (isPrivateAddress(host)) return `host ${host} is a loopback, private, link-local or reserved address`;
  return undefined;
}

/** Whether a listening host (HOST) is reachable from this machine only: a loopback address or name. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').split('%')[0] ?? '';
  if (/^localhost\.?$/i.test(bare)) return true;
  if (isIPv4(bare)) return ipaddr.IPv4.parse(bare).range() === 'loopback';
  if (!isIPv6(bare)) return false;
  const v6 = ipaddr.IPv6.parse(bare);
  return (v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6).range() === 'loopback';
}
