import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../src/config.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';

/**
 * Webhook URLs are often credentials (Slack-style: the token is the path). Admins see them whole;
 * viewers and operators see `scheme://host/…` on the channel, and no one finds them in the audit
 * log or in a non-admin's configuration export.
 */

type Body = { data?: Record<string, unknown> | null; errors?: { message: string }[] };

const SECRET_PATH = '/services/T0001/B0001/s3cr3tW3bh00kT0k3n';
const URL_1 = `https://hooks.chat.example${SECRET_PATH}`;
const URL_2 = `https://hooks.chat.example${SECRET_PATH}-rotated`;
const REDACTED = 'https://hooks.chat.example/…';

let t: TestApp;
const tokens = {} as Record<Role, string>;

async function post(query: string, variables: Record<string, unknown>, role: Role): Promise<Body> {
  const response = await fetch(t.graphqlUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      authorization: `Bearer ${tokens[role]}`,
    },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as Body;
}

beforeAll(async () => {
  t = await startTestApp();
  for (const role of ['viewer', 'operator', 'admin'] as const) tokens[role] = await t.token(role);
});
afterAll(() => t?.stop());

describe('alert-channel webhook URLs', () => {
  let channelId = '';

  beforeAll(async () => {
    const created = await post(
      `mutation C($input: CreateAlertChannelInput!) {
        createAlertChannel(input: $input) { __typename ... on AlertChannelCreatedPayload { channel { id url version } } }
      }`,
      { input: { name: 'chat', url: URL_1, kinds: ['CIRCUIT_STATE'] } },
      'admin',
    );
    const channel = (
      created.data!.createAlertChannel as { channel: { id: string; url: string; version: number } }
    ).channel;
    // The admin who made it sees what they saved.
    expect(channel.url).toBe(URL_1);
    channelId = channel.id;
    const updated = await post(
      `mutation U($input: UpdateAlertChannelInput!) { updateAlertChannel(input: $input) { __typename } }`,
      { input: { id: channel.id, version: channel.version, url: URL_2 } },
      'admin',
    );
    expect(updated.data?.updateAlertChannel).toEqual({ __typename: 'AlertChannelPayload' });
  });

  it('are whole for admins and redacted for viewers and operators', async () => {
    const seen: Record<string, unknown> = {};
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      const { data, errors } = await post('{ alertChannels { id url } }', {}, role);
      expect(errors, role).toBeUndefined();
      seen[role] = (data!.alertChannels as { id: string; url: string }[]).find(
        (c) => c.id === channelId,
      )?.url;
    }
    expect(seen).toEqual({ viewer: REDACTED, operator: REDACTED, admin: URL_2 });
  });

  it('are never in audit-log details, for any role, nor in the stored audit rows', async () => {
    for (const role of ['operator', 'admin'] as const) {
      const { data, errors } = await post(
        `query A($f: AuditFilter) { auditLog(first: 20, filter: $f) { edges { node { action details } } } }`,
        { f: { targetType: 'AlertChannel', targetId: channelId } },
        role,
      );
      expect(errors, role).toBeUndefined();
      const edges = (data!.auditLog as { edges: { node: { action: string; details: unknown } }[] }).edges;
      expect(edges.map((e) => e.node.action).sort(), role).toEqual([
        'alert_channel.create',
        'alert_channel.update',
      ]);
      const text = JSON.stringify(edges);
      expect(text, role).not.toContain(SECRET_PATH);
      expect(text, role).toContain(REDACTED);
      // Whoever reads the log can still tell that the URL changed.
      expect(text, role).toContain('"urlChanged":true');
    }
    const db = new pg.Client({ connectionString: t.config.database.url });
    await db.connect();
    try {
      const { rows } = await db.query('select details::text as details from audit_events');
      expect(rows.map((r: { details: string }) => r.details).join('\n')).not.toContain(SECRET_PATH);
    } finally {
      await db.end();
    }
  });

  it('redacts audit rows written before URLs were redacted at write time', async () => {
    const db = new pg.Client({ connectionString: t.config.database.url });
    await db.connect();
    try {
      await db.query(
        `insert into audit_events (id, at, actor, actor_role, action, target_type, target_id, details)
         values (gen_random_uuid(), now(), 'old', 'admin', 'alert_channel.create', 'AlertChannel', $1, $2)`,
        [channelId, JSON.stringify({ name: 'chat', url: URL_1, kinds: ['CIRCUIT_STATE'] })],
      );
    } finally {
      await db.end();
    }
    const { data } = await post(
      `query A($f: AuditFilter) { auditLog(first: 20, filter: $f) { edges { node { actor details } } } }`,
      { f: { targetId: channelId, actor: 'old' } },
      'operator',
    );
    const edges = (data!.auditLog as { edges: { node: { details: { url: string } } }[] }).edges;
    expect(edges.map((e) => e.node.details.url)).toEqual([REDACTED]);
  });

  it('are whole in an admin export only; an operator export is refused by importConfig as it is', async () => {
    const exportOf = async (role: Role) => {
      const { data, errors } = await post('{ exportConfig }', {}, role);
      expect(errors, role).toBeUndefined();
      return data?.exportConfig as string;
    };
    const operatorYaml = await exportOf('operator');
    expect(operatorYaml).not.toContain(SECRET_PATH);
    expect(operatorYaml).toContain(`url: ${REDACTED}`);
    expect(operatorYaml).toMatch(/Alert channel URLs are redacted/);
    const adminYaml = await exportOf('admin');
    expect(adminYaml).toContain(URL_2);

    const importOf = (document: string) =>
      post(
        `mutation I($d: String!) { importConfig(document: $d, dryRun: true) { __typename
          ... on ImportConfigPayload { plan { section key action } }
          ... on ValidationError { fieldErrors { path message } } } }`,
        { d: document },
        'admin',
      );
    const refused = await importOf(operatorYaml);
    expect(refused.data?.importConfig).toEqual({
      __typename: 'ValidationError',
      fieldErrors: [
        { path: ['document', 'alertChannels', '0', 'url'], message: expect.stringMatching(/redacted/) },
      ],
    });
    const unchanged = await importOf(adminYaml);
    expect(JSON.stringify(unchanged.data)).not.toMatch(/CREATE|UPDATE|DELETE/);
  });

  it('cannot be saved in their redacted form', async () => {
    const { data } = await post(
      `mutation C($input: CreateAlertChannelInput!) {
        createAlertChannel(input: $input) { __typename ... on ValidationError { fieldErrors { path message } } }
      }`,
      { input: { name: 'copied', url: REDACTED, kinds: ['KEY'] } },
      'admin',
    );
    expect(data!.createAlertChannel).toEqual({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['input', 'url'], message: expect.stringMatching(/redacted/) }],
    });
  });
});
