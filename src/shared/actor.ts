import type { Role } from '../config.ts';
import { ForbiddenError } from './errors.ts';

/** Who performs an operation: written to the audit log and checked by services. */
export interface Actor {
  subject: string;
  /** The person's email, for changes made through a console session (OIDC); undefined for machine tokens. */
  email?: string | undefined;
  role: Role;
  requestId: string | undefined;
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Services check again what the schema's scopes already checked: defence in depth. */
export function requireRole(actor: Actor, role: Role): void {
  if (RANK[actor.role] < RANK[role]) throw new ForbiddenError(`This operation needs the ${role} role.`);
}
