import { actorOf } from '../../context.ts';
import { builder } from '../../graphql/builder.ts';
import { NotFoundError } from '../../shared/errors.ts';
import type { OperatorSession } from './operator-session.entity.ts';

const OperatorSessionStatus = builder.enumType('OperatorSessionStatus', {
  values: ['ACTIVE', 'REVOKED', 'EXPIRED'] as const,
});

const OperatorSessionRef = builder.objectRef<OperatorSession>('OperatorSession').implement({
  description:
    'A person signed in to the console through single sign-on (OIDC). Holds no token: Tollgate keeps only a hash of the session cookie.',
  fields: (t) => ({
    id: t.exposeID('id'),
    subject: t.exposeString('subject', {
      description: "The identity provider's subject (sub) for this person.",
    }),
    email: t.exposeString('email', { nullable: true }),
    name: t.exposeString('name', { nullable: true }),
    role: t.exposeString('role', { description: 'viewer, operator or admin, as the role mapping gave it.' }),
    issuer: t.exposeString('issuer'),
    status: t.field({
      type: OperatorSessionStatus,
      resolve: (s) => (s.revokedAt ? 'REVOKED' : s.expiresAt <= new Date() ? 'EXPIRED' : 'ACTIVE'),
    }),
    createdAt: t.field({ type: 'DateTime', resolve: (s) => s.createdAt }),
    lastRenewedAt: t.field({ type: 'DateTime', resolve: (s) => s.lastRenewedAt }),
    expiresAt: t.field({ type: 'DateTime', resolve: (s) => s.expiresAt }),
    revokedAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.revokedAt ?? null }),
    revokedBy: t.exposeString('revokedBy', { nullable: true }),
    userAgent: t.exposeString('userAgent', { nullable: true }),
    ip: t.exposeString('ip', { nullable: true }),
  }),
});

const OperatorSessionFilter = builder.inputType('OperatorSessionFilter', {
  fields: (t) => ({
    active: t.boolean({ description: 'true: signed in now; false: ended (revoked or expired).' }),
    subject: t.string(),
  }),
});

builder.queryField('operatorSessions', (t) =>
  t.connection({
    type: OperatorSessionRef,
    description: 'Console sessions, newest first. Admins only.',
    authScopes: { admin: true },
    args: { filter: t.arg({ type: OperatorSessionFilter }) },
    resolve: (_root, args, ctx) => ctx.services.sessions.list(args.filter ?? {}, args),
  }),
);

const RevokeOperatorSessionPayload = builder
  .objectRef<{ session: OperatorSession }>('RevokeOperatorSessionPayload')
  .implement({
    fields: (t) => ({ session: t.field({ type: OperatorSessionRef, resolve: (p) => p.session }) }),
  });

builder.mutationField('revokeOperatorSession', (t) =>
  t.field({
    type: RevokeOperatorSessionPayload,
    description:
      'Ends a console session on every replica: its access tokens are refused and its WebSockets closed (within a second with Redis), and its cookie renews nothing. Revoking an ended session changes nothing.',
    args: { id: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError], directResult: true },
    resolve: async (_root, { id }, ctx) => ({
      session: await ctx.services.sessions.revoke(actorOf(ctx), String(id)),
    }),
  }),
);
