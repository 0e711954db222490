import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type Upstream } from '../../../test/helpers/upstream.ts';
import { type Resolve, UpstreamAgents } from './upstream-agents.ts';

/** A resolver that gives one answer for every name, as a DNS server an attacker controls would. */
const answering =
  (address: string): Resolve =>
  (_hostname, _options, callback) =>
    callback(null, [{ address, family: address.includes(':') ? 6 : 4 }]);

let upstream: Upstream;
beforeAll(async () => {
  upstream = await startUpstream();
});
afterAll(() => upstream?.close());

describe('connect-time address check', () => {
  it.each([
    '::ffff:0:a9fe:a9fe',
    '::ffff:0:127.0.0.1',
    '64:ff9b:1::a9fe:a9fe',
    '::ffff:127.0.0.1',
    '127.0.0.1',
  ])('refuses a name that resolves to %s before connecting', async (address) => {
    const agents = new UpstreamAgents(answering(address));
    try {
      const error = await request(`http://provider.example:${upstream.port}/`, {
        dispatcher: agents.public,
      }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.name).toBe('PrivateAddressError');
      expect(error?.message).toContain(address);
      expect(upstream.requests).toHaveLength(0);
    } finally {
      await agents.close();
    }
  });
});
