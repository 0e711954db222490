import { builder } from '../../graphql/builder.ts';

builder.queryField('exportConfig', (t) =>
  t.string({
    authScopes: { operator: true },
    description:
      'The whole configuration as YAML (format version 1): providers, budgets, clients and alert channels, sorted, never a secret (operator and above).',
    resolve: (_root, _args, ctx) => ctx.services.configExporter.export(),
  }),
);
