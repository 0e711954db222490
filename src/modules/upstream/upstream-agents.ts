import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent } from 'undici';
import { isPrivateAddress } from '../../shared/network.ts';

export class PrivateAddressError extends Error {
  constructor(hostname: string, address: string) {
    super(`${hostname} resolved to ${address}, a loopback, private, link-local or reserved address`);
    this.name = 'PrivateAddressError';
  }
}

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** How names are resolved: the system resolver, unless a test stands in for DNS. */
export type Resolve = (
  hostname: string,
  options: { all: true; family?: number },
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

/**
 * DNS lookup for upstream connections that refuses private answers. It runs when the socket
 * connects, so a name that resolves differently later (DNS rebinding) is caught too.
 */
const guardedLookup = (resolve: Resolve) =>
  function lookup(
    hostname: string,
    options: { all?: boolean; family?: number } | number,
    callback: LookupCallback,
  ): void {
    const opts = typeof options === 'number' ? { family: options } : options;
    resolve(hostname, { ...opts, all: true }, (error, addresses) => {
      if (error) return callback(error, opts.all ? [] : '', undefined);
      const list = addresses as LookupAddress[];
      const blocked = list.find((a) => isPrivateAddress(a.address));
      if (blocked)
        return callback(
          new PrivateAddressError(hostname, blocked.address) as NodeJS.ErrnoException,
          opts.all ? [] : '',
        );
      if (opts.all) return callback(null, list);
      const first = list[0];
      if (!first)
        return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '');
      return callback(null, first.address, first.family);
    });
  };

const POOL = {
  keepAliveTimeout: 10_000,
  keepAliveMaxTimeout: 60_000,
  connections: 128,
  pipelining: 1,
  // Redirects are never followed: undici's request() does not, and no interceptor adds it.
} as const;

/**
 * The HTTP clients for upstream calls: keep-alive pools per origin (undici), one set that
 * refuses private addresses at connect time and one for providers with allowPrivateNetwork.
 */
export class UpstreamAgents {
  readonly public: Agent;
  readonly private = new Agent({ ...POOL, connect: { timeout: 10_000 } });

  constructor(resolve: Resolve = dnsLookup as Resolve) {
    this.public = new Agent({
      ...POOL,
      connect: { lookup: guardedLookup(resolve) as never, timeout: 10_000 },
    });
  }

  for(allowPrivateNetwork: boolean): Agent {
    return allowPrivateNetwork ? this.private : this.public;
  }

  /**
   * Closes both pools. It runs after the HTTP server has drained or cut every caller, so an
   * upstream request still running by then has nobody to answer: after `graceMs` it is
   * destroyed rather than waited for, which could hold the shutdown until it is forced.
   */
  async close(graceMs = 2_000): Promise<void> {
    let closed = false;
    const closing = Promise.all([this.public.close(), this.private.close()]).then(() => {
      closed = true;
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closing, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    if (!closed) await Promise.all([this.public.destroy(), this.private.destroy()]);
  }
}
