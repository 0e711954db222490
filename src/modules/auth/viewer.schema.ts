import { builder } from '../../graphql/builder.ts';
import { ROLES } from './token.service.ts';

const RoleEnum = builder.enumType('Role', {
  values: ROLES.map((r) => r.toUpperCase()) as ['VIEWER', 'OPERATOR', 'ADMIN'],
});

interface ViewerShape {
  subject: string;
  email: string | undefined;
  sessionId: string | undefined;
  role: string;
  expiresAt: Date;
}

const ViewerRef = builder.objectRef<ViewerShape>('Viewer').implement({
  description: 'The operator whose token made this request.',
  fields: (t) => ({
    subject: t.exposeString('subject'),
    email: t.string({
      nullable: true,
      description: "The person's email, when signed in through single sign-on.",
      resolve: (v) => v.email ?? null,
    }),
    sessionId: t.id({
      nullable: true,
      description: 'The console session (single sign-on) this token belongs to; null for machine tokens.',
      resolve: (v) => v.sessionId ?? null,
    }),
    role: t.field({
      type: RoleEnum,
      resolve: (v) => v.role.toUpperCase() as 'VIEWER' | 'OPERATOR' | 'ADMIN',
    }),
    tokenExpiresAt: t.field({ type: 'DateTime', resolve: (v) => v.expiresAt }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: ViewerRef,
    resolve: (_root, _args, ctx) => {
      // Behind the viewer scope, so an operator is always present here.
      const operator = ctx.operator!;
      return {
        subject: operator.subject,
        email: operator.email,
        sessionId: operator.sessionId,
        role: operator.role,
        expiresAt: operator.expiresAt,
      };
    },
  }),
);
