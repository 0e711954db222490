import { actorOf } from '../../context.ts';
import { builder } from '../../graphql/builder.ts';
import { ValidationError } from '../../shared/errors.ts';
import type { ImportResult, PlanItem } from './config-import.ts';

builder.queryField('exportConfig', (t) =>
  t.string({
    authScopes: { viewer: true },
    description:
      'The whole configuration as YAML (format version 1): providers, budgets, clients and alert channels, sorted, never a secret (every role). Alert-channel URLs are whole for admins only (redacted otherwise, and then refused by importConfig).',
    resolve: (_root, _args, ctx) => ctx.services.configExporter.export(actorOf(ctx).role),
  }),
);

const PlanAction = builder.enumType('ConfigPlanAction', {
  values: ['CREATE', 'UPDATE', 'DELETE', 'UNCHANGED'] as const,
});

const PlanItemRef = builder.objectRef<PlanItem>('ConfigPlanItem').implement({
  fields: (t) => ({
    section: t.exposeString('section', { description: 'providers, clients, budgets or alertChannels.' }),
    key: t.exposeString('key', { description: 'The slug or name.' }),
    action: t.field({ type: PlanAction, resolve: (i) => i.action }),
    fields: t.exposeStringList('fields', { description: 'What changes, for updates.' }),
  }),
});

const NamedSecret = builder.objectRef<{ name: string; value: string }>('ConfigCreatedSecret').implement({
  fields: (t) => ({ name: t.exposeString('name'), value: t.exposeString('value') }),
});

const ImportPayload = builder.objectRef<ImportResult>('ImportConfigPayload').implement({
  fields: (t) => ({
    applied: t.exposeBoolean('applied', { description: 'False for a dry run, or when nothing changes.' }),
    plan: t.field({ type: [PlanItemRef], resolve: (r) => r.plan }),
    clientKeys: t.field({
      type: [NamedSecret],
      description: 'Keys of the clients this import created, shown once.',
      resolve: (r) => r.clientKeys.map((c) => ({ name: c.name, value: c.key })),
    }),
    channelSecrets: t.field({
      type: [NamedSecret],
      description: 'Signing secrets of the alert channels this import created, shown once.',
      resolve: (r) => r.channelSecrets.map((c) => ({ name: c.name, value: c.secret })),
    }),
  }),
});

builder.mutationField('importConfig', (t) =>
  t.field({
    type: ImportPayload,
    description:
      'Validates a configuration document (the exportConfig format), plans it against the current configuration and, unless dryRun, applies it in one transaction. With prune, what the document leaves out is deleted (clients revoked).',
    args: {
      document: t.arg.string({ required: true }),
      dryRun: t.arg.boolean({ defaultValue: false }),
      prune: t.arg.boolean({ defaultValue: false }),
    },
    errors: { types: [ValidationError], directResult: true },
    resolve: (_root, args, ctx) =>
      ctx.services.configImporter.apply(actorOf(ctx), args.document, {
        dryRun: args.dryRun ?? false,
        prune: args.prune ?? false,
      }),
  }),
);
