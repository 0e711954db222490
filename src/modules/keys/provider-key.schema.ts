import { actorOf } from '../../context.ts';
import { builder } from '../../graphql/builder.ts';
import { dropNulls } from '../../graphql/input.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../shared/errors.ts';
import { KEY_CHANGES, type KeyChangedEvent } from '../events/event-bus.ts';
import { filterEvents } from '../events/filter-events.ts';
import { ProviderNode } from '../providers/provider.schema.ts';
import type { KidUsage } from './master-key.service.ts';
import type { MasterKeyRotation } from './master-key-rotation.entity.ts';
import { KEY_STATUSES, type ProviderKey } from './provider-key.entity.ts';

const KeyStatus = builder.enumType('KeyStatus', {
  values: KEY_STATUSES,
  description:
    'ACTIVE serves calls; RETIRING serves only when no ACTIVE key can, until its grace ends; the rest never serve.',
});
const KeySourceEnum = builder.enumType('KeySource', {
  values: ['STORED', 'ENV', 'NONE'] as const,
  description: 'STORED keys are in the vault; ENV is the development fallback TOLLGATE_PROVIDER_KEY_<SLUG>.',
});

export const ProviderKeyRef = builder.objectRef<ProviderKey>('ProviderKey').implement({
  description: 'A provider API key. The secret itself is never readable, by any role.',
  fields: (t) => ({
    id: t.exposeID('id'),
    label: t.exposeString('label'),
    status: t.field({ type: KeyStatus, resolve: (k) => k.status }),
    weight: t.exposeInt('weight', { description: 'Relative share of calls among ACTIVE keys.' }),
    last4: t.exposeString('last4', {
      description: 'Last four characters (empty for secrets under 12 characters).',
    }),
    fingerprint: t.exposeString('fingerprint', {
      description: 'Keyed hash (HMAC-SHA-256) to tell keys apart.',
    }),
    masterKeyId: t.string({
      nullable: true,
      description: 'The master key the secret is encrypted under.',
      resolve: (k) => k.kid ?? null,
    }),
    graceUntil: t.field({ type: 'DateTime', nullable: true, resolve: (k) => k.graceUntil ?? null }),
    expiresAt: t.field({ type: 'DateTime', nullable: true, resolve: (k) => k.expiresAt ?? null }),
    lastUsedAt: t.field({ type: 'DateTime', nullable: true, resolve: (k) => k.lastUsedAt ?? null }),
    problem: t.string({
      nullable: true,
      description: 'Why the provider refused it, or why it cannot be decrypted.',
      resolve: (k) => k.problem ?? null,
    }),
    createdBy: t.exposeString('createdBy'),
    createdAt: t.field({ type: 'DateTime', resolve: (k) => k.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (k) => k.updatedAt }),
  }),
});

builder.objectField(ProviderNode, 'keys', (t) =>
  t.loadableList({
    type: ProviderKeyRef,
    description: 'Every key of this provider, oldest first (metadata only).',
    // Batched: a list of providers reads their keys in one query.
    load: (providerIds: string[], ctx) => ctx.services.providerKeys.listForProviders(providerIds),
    resolve: (provider) => provider.id,
  }),
);

builder.objectField(ProviderNode, 'keySource', (t) =>
  t.field({
    type: KeySourceEnum,
    resolve: (provider, _args, ctx) => ctx.services.keyRing.sourceOf(provider.id, provider.slug),
  }),
);

// ---- mutations (admin) ----------------------------------------------------------------------

const AddProviderKeyInput = builder.inputType('AddProviderKeyInput', {
  fields: (t) => ({
    provider: t.string({ required: true, description: 'Provider slug.' }),
    secret: t.string({ required: true, description: 'The API key. Stored encrypted; never shown again.' }),
    label: t.string({ description: 'Default "default".' }),
    weight: t.int({ description: 'Default 1.' }),
    expiresAt: t.field({ type: 'DateTime' }),
  }),
});

const RotateProviderKeyInput = builder.inputType('RotateProviderKeyInput', {
  fields: (t) => ({
    keyId: t.id({ required: true }),
    newSecret: t.string({ required: true }),
    graceSeconds: t.int({
      description:
        'How long the old key stays RETIRING. Default 3600; 0 revokes it at once; at most 30 days.',
    }),
    label: t.string({ description: "Label of the new key; default: the old key's." }),
  }),
});

const UpdateProviderKeyInput = builder.inputType('UpdateProviderKeyInput', {
  fields: (t) => ({
    keyId: t.id({ required: true }),
    label: t.string(),
    weight: t.int(),
    expiresAt: t.field({ type: 'DateTime', description: 'null removes the expiry.' }),
  }),
});

const ProviderKeyPayload = builder.objectRef<{ key: ProviderKey }>('ProviderKeyPayload').implement({
  fields: (t) => ({ key: t.field({ type: ProviderKeyRef, resolve: (p) => p.key }) }),
});

const RotateProviderKeyPayload = builder
  .objectRef<{ newKey: ProviderKey; oldKey: ProviderKey }>('RotateProviderKeyPayload')
  .implement({
    fields: (t) => ({
      newKey: t.field({ type: ProviderKeyRef, resolve: (p) => p.newKey }),
      oldKey: t.field({ type: ProviderKeyRef, resolve: (p) => p.oldKey }),
    }),
  });

builder.mutationField('addProviderKey', (t) =>
  t.field({
    type: ProviderKeyPayload,
    args: { input: t.arg({ type: AddProviderKeyInput, required: true }) },
    errors: { types: [ValidationError, NotFoundError], directResult: true },
    resolve: async (_root, { input }, ctx) => ({
      key: await ctx.services.providerKeys.add(actorOf(ctx), dropNulls(input)),
    }),
  }),
);

builder.mutationField('rotateProviderKey', (t) =>
  t.field({
    type: RotateProviderKeyPayload,
    args: { input: t.arg({ type: RotateProviderKeyInput, required: true }) },
    errors: { types: [ValidationError, NotFoundError, ConflictError], directResult: true },
    resolve: (_root, { input }, ctx) => ctx.services.providerKeys.rotate(actorOf(ctx), dropNulls(input)),
  }),
);

builder.mutationField('revokeProviderKey', (t) =>
  t.field({
    type: ProviderKeyPayload,
    args: { keyId: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError, ConflictError], directResult: true },
    resolve: async (_root, { keyId }, ctx) => ({
      key: await ctx.services.providerKeys.revoke(actorOf(ctx), keyId),
    }),
  }),
);

builder.mutationField('updateProviderKey', (t) =>
  t.field({
    type: ProviderKeyPayload,
    args: { input: t.arg({ type: UpdateProviderKeyInput, required: true }) },
    errors: { types: [ValidationError, NotFoundError, ConflictError], directResult: true },
    resolve: async (_root, { input }, ctx) => ({
      key: await ctx.services.providerKeys.update(actorOf(ctx), dropNulls(input, ['expiresAt'])),
    }),
  }),
);

// ---- master keys ----------------------------------------------------------------------------

const KidUsageRef = builder.objectRef<KidUsage>('MasterKeyUsage').implement({
  fields: (t) => ({
    kid: t.exposeString('kid'),
    secrets: t.exposeInt('secrets', { description: 'Stored secrets encrypted under this master key.' }),
    configured: t.exposeBoolean('configured'),
    current: t.exposeBoolean('current', { description: 'New secrets are encrypted under the current key.' }),
  }),
});

const RotationStatus = builder.enumType('MasterKeyRotationStatus', {
  values: ['RUNNING', 'DONE', 'FAILED'] as const,
});

const MasterKeyRotationRef = builder.objectRef<MasterKeyRotation>('MasterKeyRotation').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    targetKid: t.exposeString('targetKid'),
    status: t.field({ type: RotationStatus, resolve: (r) => r.status }),
    total: t.exposeInt('total'),
    processed: t.exposeInt('processed'),
    failed: t.exposeInt('failed', {
      description: "Secrets that could not be decrypted (see their keys' problem).",
    }),
    lastError: t.string({ nullable: true, resolve: (r) => r.lastError ?? null }),
    startedBy: t.exposeString('startedBy'),
    startedAt: t.field({ type: 'DateTime', resolve: (r) => r.startedAt }),
    finishedAt: t.field({ type: 'DateTime', nullable: true, resolve: (r) => r.finishedAt ?? null }),
  }),
});

const MasterKeysRef = builder.objectRef<{ currentKid: string }>('MasterKeys').implement({
  fields: (t) => ({
    currentKid: t.exposeString('currentKid'),
    usage: t.field({ type: [KidUsageRef], resolve: (_m, _a, ctx) => ctx.services.masterKeys.usage() }),
    rotation: t.field({
      type: MasterKeyRotationRef,
      nullable: true,
      description: 'The latest rotation, running or finished.',
      resolve: (_m, _a, ctx) => ctx.services.masterKeys.latest(),
    }),
  }),
});

builder.queryField('masterKeys', (t) =>
  t.field({
    type: MasterKeysRef,
    description: 'How many secrets each master key encrypts, and rotation progress.',
    resolve: (_root, _args, ctx) => ({ currentKid: ctx.services.masterKeys.currentKid }),
  }),
);

builder.mutationField('rotateMasterKey', (t) =>
  t.field({
    type: MasterKeyRotationRef,
    description:
      'Re-encrypts every stored secret under the current master key, in the background. Follow it with masterKeys.rotation.',
    resolve: (_root, _args, ctx) => ctx.services.masterKeys.start(actorOf(ctx)),
  }),
);

// ---- key events -----------------------------------------------------------------------------

const KeyChange = builder.enumType('KeyChange', { values: KEY_CHANGES });

export const KeyEventRef = builder.objectRef<KeyChangedEvent>('KeyEvent').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    at: t.field({ type: 'DateTime', resolve: (e) => new Date(e.at) }),
    change: t.field({ type: KeyChange, resolve: (e) => e.change }),
    provider: t.exposeString('providerSlug'),
    keyId: t.exposeID('keyId'),
    actor: t.exposeString('actor'),
    detail: t.string({ nullable: true, resolve: (e) => e.detail }),
  }),
});

builder.subscriptionField('keyEvent', (t) =>
  t.field({
    type: KeyEventRef,
    args: { provider: t.arg.string({ description: 'Only this provider (slug); all when omitted.' }) },
    subscribe: (_root, args, ctx) =>
      filterEvents(
        ctx.services.events.subscribe('key.changed', ctx.onSlowConsumer),
        (e) => !args.provider || e.providerSlug === args.provider,
      ),
    resolve: (event) => event,
  }),
);
