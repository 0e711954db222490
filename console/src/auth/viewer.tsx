import { createContext, type ReactNode, useContext } from 'react';
import { useQuery } from 'urql';
import type { Role } from '../gql/graphql.ts';
import { graphql } from '../gql/index.ts';

export const ViewerQuery = graphql(`
  query ConsoleViewer {
    viewer {
      subject
      email
      sessionId
      role
      tokenExpiresAt
    }
  }
`);

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
 * claims) and holds the page until it answers.
 */
export function ViewerProvider({ children, fallback }: { children: ReactNode; fallback: ReactNode }) {
  const [{ data }] = useQuery({ query: ViewerQuery, requestPolicy: 'network-only' });
  if (!data) return fallback;
  return <ViewerContext.Provider value={data.viewer}>{children}</ViewerContext.Provider>;
}

export function useViewer(): Viewer {
  const viewer = useContext(ViewerContext);
  if (!viewer) throw new Error('useViewer outside ViewerProvider');
  return viewer;
}

export function useRole(): Role {
  return useViewer().role;
}

/** Whether the viewer's role is `minimum` or above: hide what a role may not use. */
export function useCan(minimum: 'viewer' | 'operator' | 'admin'): boolean {
  return RANK[useRole()] >= RANK[minimum.toUpperCase() as Role];
}

/** Renders its children only for `role` and above (the server enforces it again). */
export function Can({ role, children }: { role: 'operator' | 'admin'; children: ReactNode }) {
  return useCan(role) ? children : null;
}
