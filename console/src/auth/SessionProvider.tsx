import {
  createContext,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
} from 'react';
import {
  type Session,
  type SignedOutReason,
  sessionFor,
  storedToken,
  storeToken,
  takeTokenFromFragment,
} from './session.ts';
import {
  endSession,
  fetchSsoConfig,
  renewSession,
  SESSION_ENDED,
  type SsoConfig,
  type SsoToken,
  takeSsoError,
} from './sso.ts';

interface SessionApi {
  session: Session;
  /** Single sign-on, when Tollgate offers it (null: token sign-in only; undefined: not known yet). */
  sso: SsoConfig | null | undefined;
  /** Starts a session with a pasted or linked token; the session says why when it is not usable. */
  signIn(token: string): Session;
  /** Ends the session: the token is forgotten, the sign-in page shown with `reason`. */
  signOut(reason: SignedOutReason): void;
  /** The token to send now: a single sign-on token changes at each renewal without a new client. */
  currentToken(): string;
}

const SessionContext = createContext<SessionApi | null>(null);

/** Renew a single sign-on token when this share of its life is left. */
const RENEW_AT_REMAINING = 0.3;

function initialSession(): Session {
  const ssoError = takeSsoError();
  if (ssoError) {
    storeToken(undefined);
    return { status: 'signed-out', reason: null, sso: ssoError };
  }
  const linked = takeTokenFromFragment();
  const token = linked ?? storedToken();
  // No token of its own: a single sign-on session cookie may exist (asked on mount).
  if (!token) return { status: 'checking' };
  const session = sessionFor(token);
  storeToken(session.status === 'signed-in' ? session.token : undefined);
  return session;
}

function ssoSession(token: SsoToken, epoch: number): Session {
  const session = sessionFor(token.accessToken);
  return session.status === 'signed-in' ? { ...session, source: 'sso', epoch } : session;
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session>(initialSession);
  const [sso, setSso] = useState<SsoConfig | null | undefined>(undefined);
  const renewing = useRef(false);
  const lastRefusal = useRef(0);
  const current = useRef(session);
  current.current = session;

  // Only the sign-in page offers single sign-on: a signed-in console does not ask (its first
  // page's requests go first, and the answer would re-render every page for nothing).
  const signedIn = session.status === 'signed-in';
  useEffect(() => {
    if (signedIn || sso !== undefined) return;
    let current = true;
    void fetchSsoConfig().then((config) => current && setSso(config));
    return () => {
      current = false;
    };
  }, [signedIn, sso]);

  /** Asks for a fresh access token; no session (or an ended one) shows the sign-in page. */
  const renew = useCallback(async (afterRefusal = false) => {
    if (renewing.current) return;
    renewing.current = true;
    try {
      const result = await renewSession();
      const previous = current.current;
      const epoch = previous.status === 'signed-in' && !afterRefusal ? (previous.epoch ?? 0) : Date.now();
      if ('accessToken' in result) setSession(ssoSession(result, epoch));
      else
        setSession({
          status: 'signed-out',
          reason: null,
          sso: SESSION_ENDED[result.ended] ? result.ended : undefined,
        });
    } finally {
      renewing.current = false;
    }
  }, []);

  useEffect(() => {
    if (session.status === 'checking') void renew();
  }, [session.status, renew]);

  const signIn = useCallback((token: string) => {
    const next = sessionFor(token.trim().replace(/^Bearer\s+/i, ''));
    storeToken(next.status === 'signed-in' ? next.token : undefined);
    setSession(next);
    return next;
  }, []);
  const signOut = useCallback(
    (reason: SignedOutReason) => {
      storeToken(undefined);
      const now = current.current;
      if (now.status === 'signed-in' && now.source === 'sso') {
        // A refused access token may only have run out: the cookie says whether the session still stands.
        // Once: a fresh token refused again (within a minute) signs out rather than loop.
        if ((reason === 'rejected' || reason === 'expired') && Date.now() - lastRefusal.current > 60_000) {
          lastRefusal.current = Date.now();
          void renew(true);
          return;
        }
        // The cookie is cleared by the answer: shown signed out once it has come, so that a
        // reload right after cannot find the session still standing.
        void endSession().finally(() => setSession({ status: 'signed-out', reason }));
        return;
      }
      setSession((current) => {
        if (current.status !== 'signed-in') return current;
        // The server refuses a token at its expiry, maybe a moment before this page's own timer:
        // that refusal is an expiry, and says so.
        const expiresAt = current.claims.expiresAt;
        const expired = reason === 'rejected' && expiresAt !== undefined && expiresAt <= Date.now() + 5_000;
        return { status: 'signed-out', reason: expired ? 'expired' : reason };
      });
    },
    [renew],
  );

  // A pasted token's expiry ends the session; a single sign-on token is renewed before it runs out.
  const expiresAt = session.status === 'signed-in' ? session.claims.expiresAt : undefined;
  const source = session.status === 'signed-in' ? session.source : undefined;
  useEffect(() => {
    if (expiresAt === undefined) return;
    const remaining = expiresAt - Date.now();
    const delay = source === 'sso' ? remaining * (1 - RENEW_AT_REMAINING) : remaining;
    const timer = setTimeout(
      () => (source === 'sso' ? void renew() : signOut('expired')),
      Math.min(Math.max(delay, 0), 2 ** 31 - 1),
    );
    return () => clearTimeout(timer);
  }, [expiresAt, source, signOut, renew]);

  // Another tab signing out, or a link opened in this tab, changes nothing here until reload:
  // sessionStorage is per tab, so there is nothing to listen to.
  const token = useRef<string | undefined>(undefined);
  token.current = session.status === 'signed-in' ? session.token : undefined;
  const currentToken = useCallback(() => token.current ?? '', []);
  const api = useMemo(
    () => ({ session, sso, signIn, signOut, currentToken }),
    [session, sso, signIn, signOut, currentToken],
  );
  return <SessionContext.Provider value={api}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionApi {
  const api = useContext(SessionContext);
  if (!api) throw new Error('useSession outside SessionProvider');
  return api;
}
