import type { Context } from '../../context.ts';
import { actorOf } from '../../context.ts';
import { builder } from '../../graphql/builder.ts';
import { dropNulls } from '../../graphql/input.ts';
import { ConflictError, NotFoundError, ValidationError, VersionMismatchError } from '../../shared/errors.ts';
import {
  loadProviders,
  ProviderNode,
  RateLimitPolicyInput,
  RateLimitPolicyRef,
} from '../providers/provider.schema.ts';
import { CLIENT_STATUSES, type Client } from './client.entity.ts';

const ClientStatus = builder.enumType('ClientStatus', { values: CLIENT_STATUSES });

/** Clients load through a per-request loader: a list of budgets or usage groups reads them in one query. */
export const ClientRef = builder.loadableObjectRef('Client', {
  load: (ids: string[], ctx: Context) =>
    ctx.services.clients.getMany(ids).then((rows) => rows.map(orMissing)),
});

/** A client that no longer exists loads as an error, which loadClient turns into null. */
const orMissing = (client: Client | null): Client | Error => client ?? new Error('no such client');

/** One client by id through the request's loader; null when there is no id or no such client. */
export async function loadClient(ctx: Context, id: string | null | undefined): Promise<Client | null> {
  if (!id) return null;
  const [client] = await ClientRef.getDataloader(ctx).loadMany([id]);
  return client instanceof Error || !client ? null : client;
}

ClientRef.implement({
  description: 'An application that calls providers through /proxy with its client key.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    status: t.field({ type: ClientStatus, resolve: (c) => c.status }),
    allowedProviders: t.field({
      type: [ProviderNode],
      nullable: true,
      description: 'The providers this client may call; null means all.',
      // Through the request's provider loader: a page of clients reads their providers in one query.
      resolve: (c, _a, ctx) => (c.allowedProviderIds ? loadProviders(ctx, c.allowedProviderIds) : null),
    }),
    keyPrefix: t.string({
      description: 'The start of the key (after tg_), to recognise it.',
      resolve: (c) => `tg_${c.keyPrefix}`,
    }),
    keyRotatedAt: t.field({ type: 'DateTime', resolve: (c) => c.keyRotatedAt }),
    expiresAt: t.field({ type: 'DateTime', nullable: true, resolve: (c) => c.expiresAt ?? null }),
    rateLimit: t.field({
      type: RateLimitPolicyRef,
      nullable: true,
      description: "Per-client limit on top of the providers' limits; null for none.",
      resolve: (c) => c.rateLimit ?? null,
    }),
    version: t.exposeInt('version', {
      description: 'Send it back with updateClient: a stale version is refused.',
    }),
    createdBy: t.exposeString('createdBy'),
    createdAt: t.field({ type: 'DateTime', resolve: (c) => c.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (c) => c.updatedAt }),
  }),
});

const ClientFilter = builder.inputType('ClientFilter', {
  fields: (t) => ({ status: t.field({ type: ClientStatus }) }),
});

builder.queryField('client', (t) =>
  t.field({
    type: ClientRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => ctx.services.clients.get(id),
  }),
);

builder.queryField('clients', (t) =>
  t.connection(
    {
      type: ClientRef,
      args: { filter: t.arg({ type: ClientFilter }) },
      resolve: (_root, args, ctx) => ctx.services.clients.list(args.filter ?? {}, args),
    },
    {
      fields: (c) => ({
        totalCount: c.int({
          description: 'How many match the filter across every page (counted only when asked for).',
          resolve: (connection) => connection.totalCount(),
        }),
      }),
    },
  ),
);

const CreateClientInput = builder.inputType('CreateClientInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    allowedProviders: t.stringList({ description: 'Provider slugs; omit or null for all providers.' }),
    rateLimit: t.field({
      type: RateLimitPolicyInput,
      description: "Per-client limit on top of the providers' limits.",
    }),
    expiresAt: t.field({ type: 'DateTime' }),
  }),
});

const ClientKeyPayload = builder.objectRef<{ client: Client; key: string }>('ClientKeyPayload').implement({
  description: 'The key is shown here once: Tollgate keeps only its hash.',
  fields: (t) => ({
    client: t.field({ type: ClientRef, resolve: (p) => p.client }),
    key: t.exposeString('key', {
      description: 'Send it as `Authorization: Bearer <key>` or `x-tollgate-key`.',
    }),
  }),
});

const ClientPayload = builder.objectRef<{ client: Client }>('ClientPayload').implement({
  fields: (t) => ({ client: t.field({ type: ClientRef, resolve: (p) => p.client }) }),
});

builder.mutationField('createClient', (t) =>
  t.field({
    type: ClientKeyPayload,
    args: { input: t.arg({ type: CreateClientInput, required: true }) },
    errors: { types: [ValidationError], directResult: true },
    resolve: (_root, { input }, ctx) => ctx.services.clients.create(actorOf(ctx), dropNulls(input)),
  }),
);

const UpdateClientInput = builder.inputType('UpdateClientInput', {
  description:
    'Fields left out keep their value; null clears allowedProviders (all), rateLimit and expiresAt.',
  fields: (t) => ({
    id: t.id({ required: true }),
    version: t.int({ required: true, description: 'The version you read; a stale one is refused.' }),
    name: t.string(),
    allowedProviders: t.stringList({ description: 'Provider slugs; null for all providers.' }),
    rateLimit: t.field({ type: RateLimitPolicyInput, description: 'null removes the limit.' }),
    expiresAt: t.field({ type: 'DateTime', description: 'null: never expires.' }),
  }),
});

builder.mutationField('updateClient', (t) =>
  t.field({
    type: ClientPayload,
    description: "Changes a client's name, allowed providers, rate limit or expiry; its key stays the same.",
    args: { input: t.arg({ type: UpdateClientInput, required: true }) },
    errors: {
      types: [ValidationError, NotFoundError, VersionMismatchError, ConflictError],
      directResult: true,
    },
    resolve: async (_root, { input }, ctx) => {
      const { id, version, ...patch } = input;
      // A field sent as null means "clear it", except the name (which cannot be cleared).
      const { name, ...rest } = patch;
      const cleaned = name == null ? rest : { ...rest, name };
      return { client: await ctx.services.clients.update(actorOf(ctx), String(id), version, cleaned) };
    },
  }),
);

builder.mutationField('rotateClientKey', (t) =>
  t.field({
    type: ClientKeyPayload,
    args: { id: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError, ConflictError], directResult: true },
    resolve: (_root, { id }, ctx) => ctx.services.clients.rotateKey(actorOf(ctx), id),
  }),
);

builder.mutationField('revokeClient', (t) =>
  t.field({
    type: ClientPayload,
    args: { id: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError, ConflictError], directResult: true },
    resolve: async (_root, { id }, ctx) => ({ client: await ctx.services.clients.revoke(actorOf(ctx), id) }),
  }),
);
