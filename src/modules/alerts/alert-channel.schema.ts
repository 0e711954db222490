import { actorOf } from '../../context.ts';
import { builder } from '../../graphql/builder.ts';
import { dropNulls } from '../../graphql/input.ts';
import { NotFoundError, ValidationError, VersionMismatchError } from '../../shared/errors.ts';
import { ALERT_KINDS, type AlertChannel } from './alert-channel.entity.ts';
import type { ChannelInput } from './alert-channel.service.ts';
import { redactWebhookUrl } from './webhook-url.ts';

const AlertKindEnum = builder.enumType('AlertKind', { values: ALERT_KINDS });

const AlertChannelRef = builder.objectRef<AlertChannel>('AlertChannel').implement({
  description:
    'A webhook receiving gateway events as JSON, signed in x-tollgate-signature: sha256=HMAC-SHA256(secret, body). The secret is never shown again.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    url: t.string({
      description:
        'Admins see the whole URL. Others see `scheme://host/…`: a webhook URL often carries a credential.',
      resolve: (c, _args, ctx) => (ctx.operator?.role === 'admin' ? c.url : redactWebhookUrl(c.url)),
    }),
    kinds: t.field({ type: [AlertKindEnum], resolve: (c) => c.kinds }),
    enabled: t.exposeBoolean('enabled'),
    allowPrivateNetwork: t.exposeBoolean('allowPrivateNetwork'),
    createdAt: t.field({ type: 'DateTime', resolve: (c) => c.createdAt }),
    version: t.exposeInt('version'),
  }),
});

builder.queryField('alertChannels', (t) =>
  t.field({ type: [AlertChannelRef], resolve: (_root, _args, ctx) => ctx.services.alertChannels.list() }),
);

const CreateAlertChannelInput = builder.inputType('CreateAlertChannelInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    url: t.string({
      required: true,
      description: 'http(s); private addresses only with allowPrivateNetwork.',
    }),
    kinds: t.field({ type: [AlertKindEnum], required: true }),
    enabled: t.boolean(),
    allowPrivateNetwork: t.boolean(),
  }),
});

const UpdateAlertChannelInput = builder.inputType('UpdateAlertChannelInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    version: t.int({ required: true }),
    name: t.string(),
    url: t.string(),
    kinds: t.field({ type: [AlertKindEnum] }),
    enabled: t.boolean(),
    allowPrivateNetwork: t.boolean(),
  }),
});

const CreatedPayload = builder
  .objectRef<{ channel: AlertChannel; secret: string }>('AlertChannelCreatedPayload')
  .implement({
    fields: (t) => ({
      channel: t.field({ type: AlertChannelRef, resolve: (p) => p.channel }),
      secret: t.exposeString('secret', { description: 'The signing secret, shown this once.' }),
    }),
  });

const ChannelPayload = builder.objectRef<{ channel: AlertChannel }>('AlertChannelPayload').implement({
  fields: (t) => ({ channel: t.field({ type: AlertChannelRef, resolve: (p) => p.channel }) }),
});

builder.mutationField('createAlertChannel', (t) =>
  t.field({
    type: CreatedPayload,
    args: { input: t.arg({ type: CreateAlertChannelInput, required: true }) },
    errors: { types: [ValidationError], directResult: true },
    resolve: (_root, { input }, ctx) =>
      ctx.services.alertChannels.create(actorOf(ctx), dropNulls(input) as ChannelInput),
  }),
);

builder.mutationField('updateAlertChannel', (t) =>
  t.field({
    type: ChannelPayload,
    args: { input: t.arg({ type: UpdateAlertChannelInput, required: true }) },
    errors: { types: [ValidationError, NotFoundError, VersionMismatchError], directResult: true },
    resolve: async (_root, { input }, ctx) => {
      const { id, version, ...patch } = input;
      return {
        channel: await ctx.services.alertChannels.update(
          actorOf(ctx),
          id,
          version,
          dropNulls(patch) as Partial<ChannelInput>,
        ),
      };
    },
  }),
);

builder.mutationField('deleteAlertChannel', (t) =>
  t.field({
    type: ChannelPayload,
    args: { id: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError], directResult: true },
    resolve: async (_root, { id }, ctx) => ({
      channel: await ctx.services.alertChannels.delete(actorOf(ctx), id),
    }),
  }),
);
