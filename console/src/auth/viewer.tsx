import { createContext, type ReactNode, useContext } from 'react';
import { useQuery } from 'urql';
import type { Role } from '../gql/graphql.ts';
import { ViewerQuery } from './viewer-query.ts';

export interface Viewer {
  subject: string;
  /** Set when signed in through single sign-on. */
  email?: string | null;
  sessionId?: string | null;
  role: Role;
  tokenExpiresAt: string;
}

const RANK: Record<Role, number> = { VIEWER: 0, OPERATOR: 1, ADMIN: 2 };

const ViewerContext = createContext<Viewer | null>(null);

/**
 * Asks the server who this token is (its role is what the server enforces, not what the token
 * claims). The pages render at once, without waiting for the answer, so that their own queries
 * go out in parallel with this one: the role only hides controls, and until it is known every
 * role-gated control stays hidden (the server enforces the rules anyway).
 */
export function ViewerProvider({ children }: { children: ReactNode }) {
  const [{ data }] = useQuery({ query: ViewerQuery, requestPolicy: 'network-only' });
  return <ViewerContext.Provider value={data?.viewer ?? null}>{children}</ViewerContext.Provider>;
}

/** The viewer, or null while the server has not answered yet. */
export function useViewer(): Viewer | null {
  return useContext(ViewerContext);
}

/** The viewer's role, or null while it is not known yet. */
export function useRole(): Role | null {
  return useViewer()?.role ?? null;
}

/**
 * Whether the viewer's role is `minimum` or above: hide what a role may not use. False while the
 * role is not known yet.
 */
export function useCan(minimum: 'viewer' | 'operator' | 'admin'): boolean {
  const role = useRole();
  return role !== null && RANK[role] >= RANK[minimum.toUpperCase() as Role];
}

/** Renders its children only for `role` and above (the server enforces it again). */
export function Can({ role, children }: { role: 'operator' | 'admin'; children: ReactNode }) {
  return useCan(role) ? children : null;
}
