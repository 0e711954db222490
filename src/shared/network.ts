import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * Addresses a provider may not point at unless it sets allowPrivateNetwork: loopback, private,
 * carrier-grade NAT, link-local (which holds the cloud metadata endpoints), and the special and
 * reserved ranges. Used when a provider is saved and again when the proxy connects, so a DNS
 * answer cannot smuggle a private address past the save-time check.
 */
const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

const BLOCKED_HOSTNAMES = [/^localhost$/i, /\.localhost$/i, /^metadata\.google\.internal$/i, /^metadata$/i];

/** The IPv4 address carried inside an IPv6 one (mapped, compatible, NAT64, 6to4), if any. */
function embeddedIPv4(address: string): string | undefined {
  const words = expandIPv6(address);
  if (!words) return undefined;
  const toV4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const zeros = (from: number, to: number) => words.slice(from, to).every((w) => w === 0);
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible, deprecated but still routed by some stacks)
  if (zeros(0, 5) && (words[5] === 0xffff || words[5] === 0) && !(words[6] === 0 && (words[7] ?? 0) <= 1)) {
    return toV4(words[6] ?? 0, words[7] ?? 0);
  }
  // 64:ff9b::a.b.c.d (NAT64 well-known prefix)
  if (words[0] === 0x64 && words[1] === 0xff9b && zeros(2, 6)) return toV4(words[6] ?? 0, words[7] ?? 0);
  // 2002:aabb:ccdd::/48 (6to4)
  if (words[0] === 0x2002) return toV4(words[1] ?? 0, words[2] ?? 0);
  return undefined;
}

function expandIPv6(address: string): number[] | undefined {
  let text = address.replace(/^\[|\]$/g, '').split('%')[0] ?? '';
  // A trailing dotted quad becomes two hex words.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const parts = dotted[1].split('.').map(Number);
    if (parts.some((p) => p > 255)) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = parts;
    text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 && missing !== 0) return undefined;
  const words = [...head, ...Array(Math.max(missing, 0)).fill('0'), ...tail].map((w) =>
    Number.parseInt(w, 16),
  );
  return words.length === 8 && words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff)
    ? words
    : undefined;
}

/** True when an IP address literal is in a range providers may not reach by default. */
export function isPrivateAddress(address: string): boolean {
  const ip = address.replace(/^\[|\]$/g, '');
  if (isIPv4(ip)) return blocked.check(ip, 'ipv4');
  if (isIPv6(ip)) {
    const v4 = embeddedIPv4(ip);
    if (v4 !== undefined && blocked.check(v4, 'ipv4')) return true;
    return blocked.check(ip.split('%')[0] ?? ip, 'ipv6');
  }
  return false;
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
