/**
 * Single sign-on (OIDC), done by Tollgate's /auth routes: the browser holds an HTTP-only session
 * cookie this code never sees, and asks /auth/session for a short-lived access token, which is
 * kept in memory only (a reload asks again). Refusals arrive as `#sso_error=CODE` in the address
 * bar's fragment, which this page turns into a sentence (never text from the address bar itself).
 */

export interface SsoConfig {
  name: string;
  loginUrl: string;
}

export interface SsoToken {
  accessToken: string;
  expiresAt: string;
}

/** Why a session renewal failed, as /auth/session says (src/modules/sessions/session.service.ts). */
export type SessionEndReason = 'NO_SESSION' | 'REVOKED' | 'EXPIRED' | 'IDP_REFUSED' | 'NO_ROLE';

export const SSO_REFUSALS: Record<string, string> = {
  PROVIDER_UNAVAILABLE: 'The identity provider could not be reached. Try again in a moment.',
  PROVIDER_ERROR: 'The identity provider did not sign you in.',
  SIGN_IN_EXPIRED: 'This sign-in was already completed or took too long. Start again.',
  STATE_MISMATCH:
    'The answer from the identity provider does not belong to the sign-in this browser started (state). Start again.',
  NONCE_MISMATCH: 'The ID token was not issued for this sign-in (nonce). Start again.',
  WRONG_AUDIENCE: 'The ID token was issued for another application (audience). Sign-in refused.',
  TOKEN_EXPIRED:
    'The ID token has expired. Check the clocks of Tollgate and the identity provider, then start again.',
  INVALID_TOKEN: 'The ID token could not be verified. Sign-in refused.',
  CODE_REFUSED:
    'The identity provider refused the authorization code (it may have been used already). Start again.',
  NO_ROLE: 'Your account is not in any group that has access to Tollgate. Ask an administrator to add you.',
  EMAIL_DOMAIN: 'Your email address is not in a domain allowed to sign in to Tollgate.',
};

export const SESSION_ENDED: Record<SessionEndReason, string | null> = {
  NO_SESSION: null,
  REVOKED: 'Your session was ended. Sign in again.',
  EXPIRED: 'Your session has expired. Sign in again.',
  IDP_REFUSED: 'Your identity provider ended your session. Sign in again.',
  NO_ROLE: 'Your account no longer has access to Tollgate.',
};

/** Takes `sso_error=CODE` out of the fragment (and the address bar); only known codes count. */
export function takeSsoError(): string | undefined {
  const params = new URLSearchParams(window.location.hash.replace(/^#/, ''));
  const code = params.get('sso_error');
  if (!code) return undefined;
  params.delete('sso_error');
  const rest = params.toString();
  window.history.replaceState(
    window.history.state,
    '',
    `${window.location.pathname}${window.location.search}${rest ? `#${rest}` : ''}`,
  );
  return code in SSO_REFUSALS ? code : 'PROVIDER_ERROR';
}

export async function fetchSsoConfig(): Promise<SsoConfig | null> {
  try {
    const response = await fetch('/auth/config', { headers: { accept: 'application/json' } });
    if (!response.ok) return null;
    const body = (await response.json()) as { oidc: SsoConfig | null };
    return body.oidc;
  } catch {
    return null;
  }
}

/** A fresh access token for the session cookie, or why there is none. */
export async function renewSession(): Promise<SsoToken | { ended: SessionEndReason }> {
  try {
    const response = await fetch('/auth/session', { method: 'POST', credentials: 'same-origin' });
    if (response.ok) return (await response.json()) as SsoToken;
    const body = (await response.json().catch(() => null)) as {
      error?: { reason?: SessionEndReason };
    } | null;
    return { ended: body?.error?.reason ?? 'NO_SESSION' };
  } catch {
    return { ended: 'NO_SESSION' };
  }
}

export async function endSession(): Promise<void> {
  await fetch('/auth/logout', { method: 'POST', credentials: 'same-origin' }).catch(() => undefined);
}
