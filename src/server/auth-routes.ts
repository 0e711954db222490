import type { IncomingMessage, ServerResponse } from 'node:http';
import { OidcSignIn, SignInRefusedError, TRANSACTION_TTL_SECONDS } from '../modules/sessions/oidc-sign-in.ts';
import {
  type IssuedSession,
  SessionEndedError,
  type SessionService,
} from '../modules/sessions/session.service.ts';
import type { Logger } from '../shared/logger.ts';
import { clientIp } from './api-guard.ts';
import { sendJson } from './http.ts';

export const SESSION_COOKIE = 'tollgate_session';
export const TRANSACTION_COOKIE = 'tollgate_sso';

export interface AuthRoute {
  /** Answers /auth/*: the sign-in flow and the session cookie's renewal and sign-out. */
  serve(req: IncomingMessage, res: ServerResponse, path: string, requestId: string): Promise<void>;
}

/** The cookies of a request, by name (the first of each name wins). */
export function readCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    const name = part.slice(0, at).trim();
    if (!cookies.has(name)) cookies.set(name, part.slice(at + 1).trim());
  }
  return cookies;
}

function cookie(
  name: string,
  value: string,
  options: { path: string; maxAge: number; sameSite: 'Strict' | 'Lax'; secure: boolean },
): string {
  return [
    `${name}=${value}`,
    `Path=${options.path}`,
    `Max-Age=${options.maxAge}`,
    'HttpOnly',
    `SameSite=${options.sameSite}`,
    ...(options.secure ? ['Secure'] : []),
  ].join('; ');
}

/**
 * /auth: single sign-on for the console.
 * - GET /auth/config: whether OIDC sign-in is offered, and the provider's name for the button.
 * - GET /auth/login: to the provider, with state, nonce and PKCE in an encrypted cookie
 *   (SameSite=Lax: it must come back on the provider's redirect, a cross-site navigation).
 * - GET /auth/callback: the provider's answer; a session cookie (HttpOnly, SameSite=Strict,
 *   Path=/auth, Secure behind https) and back to the console, or to the console's sign-in page
 *   with the refusal's code in the fragment.
 * - POST /auth/session: a fresh access token for the session cookie.
 * - POST /auth/logout: ends the session and clears the cookie.
 * The cookie is sent only under /auth, never with GraphQL (which takes bearer tokens only), and
 * the POSTs must come from Tollgate's own origin.
 */
export function createAuthRoute(deps: {
  oidc: OidcSignIn | undefined;
  sessions: SessionService;
  publicUrl: string | undefined;
  sessionMaxAgeSeconds: number;
  logger: Logger;
}): AuthRoute {
  const { oidc, sessions, logger } = deps;
  const baseUrl = (req: IncomingMessage) => deps.publicUrl ?? `http://${req.headers.host ?? 'localhost'}`;
  const secure = (req: IncomingMessage) => baseUrl(req).startsWith('https:');

  const sameOrigin = (req: IncomingMessage): boolean => {
    const origin = req.headers.origin;
    if (!origin) return false;
    try {
      return (
        new URL(origin).origin === new URL(baseUrl(req)).origin || new URL(origin).host === req.headers.host
      );
    } catch {
      return false;
    }
  };

  const redirect = (res: ServerResponse, location: string, cookies: string[] = []) => {
    res.writeHead(303, { location, 'cache-control': 'no-store', 'set-cookie': cookies });
    res.end();
  };

  const sessionBody = (issued: IssuedSession) => ({
    accessToken: issued.accessToken,
    expiresAt: issued.accessTokenExpiresAt.toISOString(),
    subject: issued.session.subject,
    email: issued.session.email,
    role: issued.session.role,
  });

  const clearSession = (req: IncomingMessage) =>
    cookie(SESSION_COOKIE, '', { path: '/auth', maxAge: 0, sameSite: 'Strict', secure: secure(req) });

  return {
    async serve(req, res, path, requestId) {
      const method = req.method ?? 'GET';
      const cookies = readCookies(req.headers.cookie);
      if (path === '/auth/config' && method === 'GET') {
        return sendJson(res, 200, { oidc: oidc ? { name: oidc.name, loginUrl: '/auth/login' } : null });
      }
      if ((path === '/auth/login' || path === '/auth/callback') && !oidc) {
        return sendJson(res, 404, {
          error: {
            code: 'NOT_FOUND',
            message: 'Single sign-on is not configured (TOLLGATE_OIDC_ISSUER).',
            requestId,
          },
        });
      }
      if (path === '/auth/login' && method === 'GET' && oidc) {
        try {
          const { url, transaction } = await oidc.begin(OidcSignIn.redirectUri(baseUrl(req)));
          return redirect(res, url.href, [
            cookie(TRANSACTION_COOKIE, transaction, {
              path: '/auth/callback',
              maxAge: TRANSACTION_TTL_SECONDS,
              sameSite: 'Lax',
              secure: secure(req),
            }),
          ]);
        } catch (error) {
          const refusal = error instanceof SignInRefusedError ? error.refusal : 'PROVIDER_UNAVAILABLE';
          logger.warn({ err: (error as Error).cause ?? error, requestId }, 'oidc sign-in could not start');
          return redirect(res, `/console/#sso_error=${refusal}`);
        }
      }
      if (path === '/auth/callback' && method === 'GET' && oidc) {
        const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
        // The transaction is for one answer only, whatever that answer turns out to be.
        const clearTransaction = cookie(TRANSACTION_COOKIE, '', {
          path: '/auth/callback',
          maxAge: 0,
          sameSite: 'Lax',
          secure: secure(req),
        });
        try {
          const identity = await oidc.complete(query, cookies.get(TRANSACTION_COOKIE));
          const issued = await sessions.create(identity, {
            userAgent: req.headers['user-agent'],
            ip: clientIp(req),
          });
          logger.info(
            { sessionId: issued.session.id, subject: identity.subject, role: identity.role, requestId },
            'operator signed in',
          );
          return redirect(res, '/console/', [
            clearTransaction,
            cookie(SESSION_COOKIE, issued.secret, {
              path: '/auth',
              maxAge: deps.sessionMaxAgeSeconds,
              sameSite: 'Strict',
              secure: secure(req),
            }),
          ]);
        } catch (error) {
          if (!(error instanceof SignInRefusedError)) throw error;
          logger.info(
            { refusal: error.refusal, reason: (error.cause as Error).message, requestId },
            'oidc sign-in refused',
          );
          return redirect(res, `/console/#sso_error=${error.refusal}`, [clearTransaction]);
        }
      }
      if ((path === '/auth/session' || path === '/auth/logout') && method === 'POST') {
        if (!sameOrigin(req)) {
          return sendJson(res, 403, {
            error: {
              code: 'FORBIDDEN',
              message: 'Session requests must come from the console (same origin).',
              requestId,
            },
          });
        }
        const secret = cookies.get(SESSION_COOKIE);
        if (path === '/auth/logout') {
          await sessions.signOut(secret);
          return sendJson(res, 200, { signedOut: true }, { 'set-cookie': clearSession(req) });
        }
        try {
          return sendJson(res, 200, sessionBody(await sessions.renew(secret)));
        } catch (error) {
          if (!(error instanceof SessionEndedError)) throw error;
          return sendJson(
            res,
            401,
            { error: { code: 'UNAUTHENTICATED', reason: error.reason, message: error.message, requestId } },
            // An ended session's cookie stays (it renews nothing), so every tab learns why it ended;
            // a cookie that names no session goes.
            secret && error.reason === 'NO_SESSION' ? { 'set-cookie': clearSession(req) } : {},
          );
        }
      }
      return sendJson(res, 404, {
        error: { code: 'NOT_FOUND', message: `No route for ${method} ${path}.`, requestId },
      });
    },
  };
}
