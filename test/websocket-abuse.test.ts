import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { openRawSocket, type RawSocket } from './helpers/raw-ws.ts';

/**
 * graphql-ws protocol abuse against the real server, with raw sockets: every misbehaviour ends
 * in the protocol's close code. Init timeout shortened to 1 s, 2 connections per operator.
 */
let t: TestApp;
let token: string;

beforeAll(async () => {
  t = await startTestApp({
    env: { TOLLGATE_WS_INIT_TIMEOUT_MS: '1000', TOLLGATE_WS_MAX_PER_OPERATOR: '2' },
  });
  token = await t.token('viewer', { subject: 'ws-abuser' });
});
afterAll(() => t?.stop());

async function acknowledged(subjectToken = token): Promise<RawSocket> {
  const raw = await openRawSocket(t.graphqlUrl);
  raw.send({ type: 'connection_init', payload: { authorization: `Bearer ${subjectToken}` } });
  await raw.next('connection_ack');
  return raw;
}

const LIVE = 'subscription { providerChanged { change slug } }';

describe('WebSocket protocol abuse', () => {
  it('closes a connection that never sends connection_init with 4408', async () => {
    const raw = await openRawSocket(t.graphqlUrl);
    const started = Date.now();
    expect(await raw.closed).toEqual({ code: 4408, reason: 'Connection initialisation timeout' });
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('closes a connection that sends connection_init twice with 4429', async () => {
    const raw = await acknowledged();
    raw.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
    expect(await raw.closed).toEqual({ code: 4429, reason: 'Too many initialisation requests' });
  });

  it('closes a connection that subscribes before its connection_ack with 4401', async () => {
    const raw = await openRawSocket(t.graphqlUrl);
    raw.send({ id: '1', type: 'subscribe', payload: { query: '{ __typename }' } });
    expect(await raw.closed).toEqual({ code: 4401, reason: 'Unauthorized' });
    expect(raw.messages).toEqual([]);
  });

  it('closes a connection that reuses a running operation id with 4409', async () => {
    const raw = await acknowledged();
    raw.send({ id: 'dup', type: 'subscribe', payload: { query: LIVE } });
    raw.send({ id: 'dup', type: 'subscribe', payload: { query: LIVE } });
    expect(await raw.closed).toEqual({ code: 4409, reason: 'Subscriber for dup already exists' });
  });

  it('closes a connection that sends something other than a protocol message with 4400', async () => {
    const raw = await acknowledged();
    raw.socket.send('{"type":"not-a-message"}');
    expect((await raw.closed).code).toBe(4400);
  });

  it('allows 2 connections per operator, closes a third with 4429 "Too many connections", and frees the slot on close', async () => {
    const first = await acknowledged();
    const second = await acknowledged();
    const third = await openRawSocket(t.graphqlUrl);
    third.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
    expect(await third.closed).toEqual({ code: 4429, reason: 'Too many connections' });
    expect(third.messages).toEqual([]);
    // Another operator is not affected.
    const other = await acknowledged(await t.token('viewer', { subject: 'someone-else' }));
    // Closing one frees its slot.
    first.socket.close();
    await first.closed;
    await expect
      .poll(async () => {
        const again = await openRawSocket(t.graphqlUrl);
        again.send({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } });
        const outcome = await Promise.race([
          again.next('connection_ack').then(() => 'ack'),
          again.closed.then((c) => c.code),
        ]);
        again.socket.close();
        return outcome;
      })
      .toBe('ack');
    second.socket.close();
    other.socket.close();
  });

  it('releases the subscriptions of a client that vanishes while they wait for events', async () => {
    const events = t.app.services.events;
    const before = events.activeSubscriptions;
    const raw = await acknowledged(await t.token('viewer', { subject: 'vanisher' }));
    raw.send({
      id: 'a',
      type: 'subscribe',
      payload: { query: 'subscription { providerChanged(slug: "never") { slug } }' },
    });
    raw.send({
      id: 'b',
      type: 'subscribe',
      payload: { query: 'subscription { gatewayEvents(kinds: [JOB]) { __typename } }' },
    });
    await expect.poll(() => events.activeSubscriptions).toBe(before + 2);
    raw.socket.terminate();
    await expect.poll(() => events.activeSubscriptions).toBe(before);
  });

  it('keeps a well-behaved connection working alongside', async () => {
    const raw = await acknowledged(await t.token('viewer', { subject: 'polite' }));
    raw.send({ id: 'q1', type: 'subscribe', payload: { query: '{ viewer { subject } }' } });
    expect((await raw.next('next')).payload).toEqual({ data: { viewer: { subject: 'polite' } } });
    await raw.next('complete');
    raw.socket.close();
  });
});
