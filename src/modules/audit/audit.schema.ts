import { builder } from '../../graphql/builder.ts';
import { redactUrlsIn } from '../alerts/webhook-url.ts';
import type { AuditEvent } from './audit.entity.ts';

const AuditEventRef = builder.objectRef<AuditEvent>('AuditEvent').implement({
  description: 'One change made through the control plane. Never contains a secret.',
  fields: (t) => ({
    id: t.exposeID('id'),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
    actor: t.exposeString('actor', { description: 'The token subject that made the change.' }),
    actorEmail: t.exposeString('actorEmail', {
      nullable: true,
      description: "The person's email when the change was made through a console session (single sign-on).",
    }),
    actorRole: t.exposeString('actorRole'),
    action: t.exposeString('action', { description: 'For example provider.create, provider.update.' }),
    targetType: t.exposeString('targetType'),
    targetId: t.exposeString('targetId'),
    requestId: t.exposeString('requestId', { nullable: true }),
    details: t.field({
      type: 'JSON',
      nullable: true,
      description: 'What changed. Operators and admins only (null with a FORBIDDEN error for viewers).',
      authScopes: { operator: true },
      // Alert-channel URLs may be credentials: redacted here too for rows written before they
      // were redacted at write time.
      resolve: (e) => (e.targetType === 'AlertChannel' ? redactUrlsIn(e.details) : e.details),
    }),
  }),
});

const AuditFilter = builder.inputType('AuditFilter', {
  fields: (t) => ({
    action: t.string(),
    targetType: t.string(),
    targetId: t.string(),
    actor: t.string(),
    since: t.field({ type: 'DateTime' }),
    until: t.field({ type: 'DateTime' }),
  }),
});

builder.queryField('auditLog', (t) =>
  t.connection({
    type: AuditEventRef,
    description: 'Newest first.',
    args: { filter: t.arg({ type: AuditFilter }) },
    resolve: (_root, args, ctx) => ctx.services.audit.list(args.filter ?? {}, args),
  }),
);
