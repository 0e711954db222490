import type { Server } from 'node:http';
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import Provider from 'oidc-provider';
import { freePort } from './ports.ts';

/** A person the test provider knows: signs in with this login (any password). */
export interface TestPerson {
  email: string;
  name: string;
  groups: string[];
}

/**
 * How the provider's token endpoint misbehaves for the next sign-ins: the ID token is re-signed
 * with the provider's own key (so its signature is valid) after one claim is changed. This is
 * what a confused or hostile provider, or a token meant for another application, looks like.
 */
export type Tamper = 'nonce' | 'audience' | 'expired' | undefined;

export interface TestOidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Changes the ID tokens the token endpoint returns from now on (undefined: honest again). */
  tamper(mode: Tamper): void;
  /**
   * Changes one parameter of the next authorization answers (the redirect back to the client), as
   * an attacker in the middle or a forged link would; undefined: honest again.
   */
  alterAnswer(change: { name: string; value: string } | undefined): void;
  /** Token endpoint answers so far (to check that a replayed code was refused there). */
  tokenResponses: { status: number; error?: string }[];
  close(): Promise<void>;
}

/**
 * A real OpenID Connect provider (the `oidc-provider` package) on loopback, with its development
 * sign-in pages (any password), one confidential client, and ID tokens that carry email and
 * groups. `port` may be reserved in advance so Tollgate can be configured with the issuer first.
 */
export async function startOidcProvider(options: {
  redirectUris: string[];
  people: Record<string, TestPerson>;
  port?: number;
  clientId?: string;
  clientSecret?: string;
}): Promise<TestOidcProvider> {
  const port = options.port ?? (await freePort());
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = options.clientId ?? 'tollgate-console';
  const clientSecret = options.clientSecret ?? `test-client-secret-${Math.random().toString(36).slice(2)}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  let mode: Tamper;
  let answerChange: { name: string; value: string } | undefined;
  const tokenResponses: { status: number; error?: string }[] = [];

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: options.redirectUris,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    jwks: { keys: [jwk] },
    // Scope claims go into the ID token itself (as Keycloak and Entra ID do for groups).
    conformIdTokenClaims: false,
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
      groups: ['groups'],
    },
    scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
    features: { devInteractions: { enabled: true } },
    // Refresh tokens for every sign-in (as Keycloak gives them), not only with offline_access.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    cookies: { keys: ['test-provider-cookie-key'] },
    // Set explicitly: the package warns about each default otherwise.
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      IdToken: 600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      RefreshToken: 3600,
    },
    findAccount: async (_ctx, sub) => {
      const person = options.people[sub];
      return {
        accountId: sub,
        claims: async () => ({
          sub,
          ...(person
            ? { email: person.email, email_verified: true, name: person.name, groups: person.groups }
            : {}),
        }),
      };
    },
  });

  // Koa middleware (the package's own extension point) after the token endpoint has answered.
  provider.use(async (ctx, next) => {
    await next();
    const location = ctx.response.get('location');
    if (answerChange && location && options.redirectUris.some((uri) => location.startsWith(`${uri}?`))) {
      const url = new URL(location);
      url.searchParams.set(answerChange.name, answerChange.value);
      ctx.redirect(url.href);
      return;
    }
    if (ctx.path !== '/token') return;
    const body = ctx.body as { id_token?: string; error?: string } | undefined;
    tokenResponses.push({ status: ctx.status, error: body?.error });
    if (!mode || !body?.id_token) return;
    const claims = JSON.parse(
      Buffer.from(body.id_token.split('.')[1]!, 'base64url').toString(),
    ) as JWTPayload;
    const now = Math.floor(Date.now() / 1000);
    if (mode === 'nonce') claims.nonce = 'a-nonce-from-another-sign-in';
    if (mode === 'audience') claims.aud = 'another-application';
    if (mode === 'expired') Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
    body.id_token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: jwk.kid, typ: 'JWT' })
      .sign(privateKey);
  });

  const server: Server = await new Promise((resolve, reject) => {
    const s = provider.listen(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });

  return {
    issuer,
    clientId,
    clientSecret,
    tamper: (next) => {
      mode = next;
    },
    alterAnswer: (change) => {
      answerChange = change;
    },
    tokenResponses,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
