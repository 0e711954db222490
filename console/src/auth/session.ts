/**
 * The operator's token: taken from the sign-in link's fragment (`#token=...`, which never reaches
 * a server or its logs), kept in sessionStorage (gone when the tab closes), and read for its
 * expiry. The token is verified by the server on every request; nothing here trusts its claims
 * beyond showing when it runs out.
 */
const STORAGE_KEY = 'tollgate.console.token';

export interface TokenClaims {
  subject: string | undefined;
  role: string | undefined;
  /** Milliseconds since the epoch; undefined when the token carries no `exp`. */
  expiresAt: number | undefined;
}

/** Reads a JWT's payload without verifying it (the server verifies); null when it is not a JWT. */
export function readClaims(token: string): TokenClaims | null {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return null;
  try {
    const json = atob(parts[1].replace(/-/g, '+').replace(/_/g, '/'));
    const payload = JSON.parse(json) as Record<string, unknown>;
    if (typeof payload !== 'object' || payload === null) return null;
    return {
      subject: typeof payload.sub === 'string' ? payload.sub : undefined,
      role: typeof payload.role === 'string' ? payload.role : undefined,
      expiresAt: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined,
    };
  } catch {
    return null;
  }
}

/** The token in the address bar's fragment, if any, left where it is. */
export function tokenInFragment(): string | undefined {
  const hash = window.location.hash.replace(/^#/, '');
  if (!hash) return undefined;
  return new URLSearchParams(hash).get('token')?.trim() || undefined;
}

/**
 * Moves a token from the address bar's fragment into sessionStorage and removes it from the
 * address bar (and from history) at once. Returns the token found, if any.
 */
export function takeTokenFromFragment(): string | undefined {
  const token = tokenInFragment();
  if (!token) return undefined;
  const params = new URLSearchParams(window.location.hash.replace(/^#/, ''));
  params.delete('token');
  const rest = params.toString();
  const url = `${window.location.pathname}${window.location.search}${rest ? `#${rest}` : ''}`;
  window.history.replaceState(window.history.state, '', url);
  return token;
}

export function storedToken(): string | undefined {
  try {
    return sessionStorage.getItem(STORAGE_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

export function storeToken(token: string | undefined): void {
  try {
    if (token) sessionStorage.setItem(STORAGE_KEY, token);
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // Storage disabled: the session lasts as long as this page.
  }
}

/** Why the console asks to sign in; null on a first visit. */
export type SignedOutReason = 'expired' | 'rejected' | 'signed-out' | 'invalid' | null;

export type Session =
  /** Asking /auth/session whether a single sign-on session exists (a moment, on load). */
  | { status: 'checking' }
  | {
      status: 'signed-out';
      reason: SignedOutReason;
      /** A single sign-on refusal's code (SSO_REFUSALS), or why a session ended (SESSION_ENDED). */
      sso?: string | undefined;
    }
  | {
      status: 'signed-in';
      token: string;
      claims: TokenClaims;
      /** `sso`: an access token from a session cookie, renewed before it runs out. */
      source?: 'token' | 'sso';
      /** Changes when a refused single sign-on token was replaced: the GraphQL client starts anew. */
      epoch?: number;
    };

/** A session from a token, or the reason it cannot be one. */
export function sessionFor(token: string | undefined, now = Date.now()): Session {
  if (!token) return { status: 'signed-out', reason: null };
  const claims = readClaims(token);
  if (!claims) return { status: 'signed-out', reason: 'invalid' };
  if (claims.expiresAt !== undefined && claims.expiresAt <= now)
    return { status: 'signed-out', reason: 'expired' };
  return { status: 'signed-in', token, claims };
}
