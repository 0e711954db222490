import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import {
  type Session,
  type SignedOutReason,
  sessionFor,
  storedToken,
  storeToken,
  takeTokenFromFragment,
} from './session.ts';

interface SessionApi {
  session: Session;
  /** Starts a session with a pasted or linked token; the session says why when it is not usable. */
  signIn(token: string): Session;
  /** Ends the session: the token is forgotten, the sign-in page shown with `reason`. */
  signOut(reason: SignedOutReason): void;
}

const SessionContext = createContext<SessionApi | null>(null);

function initialSession(): Session {
  const linked = takeTokenFromFragment();
  const session = sessionFor(linked ?? storedToken());
  storeToken(session.status === 'signed-in' ? session.token : undefined);
  return session;
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session>(initialSession);

  const signIn = useCallback((token: string) => {
    const next = sessionFor(token.trim().replace(/^Bearer\s+/i, ''));
    storeToken(next.status === 'signed-in' ? next.token : undefined);
    setSession(next);
    return next;
  }, []);
  const signOut = useCallback((reason: SignedOutReason) => {
    storeToken(undefined);
    setSession((current) => {
      if (current.status === 'signed-out') return current;
      // The server refuses a token at its expiry, maybe a moment before this page's own timer:
      // that refusal is an expiry, and says so.
      const expiresAt = current.claims.expiresAt;
      const expired = reason === 'rejected' && expiresAt !== undefined && expiresAt <= Date.now() + 5_000;
      return { status: 'signed-out', reason: expired ? 'expired' : reason };
    });
  }, []);

  // The token's own expiry ends the session, whether or not a request notices first.
  const expiresAt = session.status === 'signed-in' ? session.claims.expiresAt : undefined;
  useEffect(() => {
    if (expiresAt === undefined) return;
    const timer = setTimeout(
      () => signOut('expired'),
      Math.min(Math.max(expiresAt - Date.now(), 0), 2 ** 31 - 1),
    );
    return () => clearTimeout(timer);
  }, [expiresAt, signOut]);

  // Another tab signing out, or a link opened in this tab, changes nothing here until reload:
  // sessionStorage is per tab, so there is nothing to listen to.
  const api = useMemo(() => ({ session, signIn, signOut }), [session, signIn, signOut]);
  return <SessionContext.Provider value={api}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionApi {
  const api = useContext(SessionContext);
  if (!api) throw new Error('useSession outside SessionProvider');
  return api;
}
