import {
  createRemoteJWKSet,
  EncryptJWT,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtDecrypt,
  jwtVerify,
} from 'jose';
import * as oidc from 'openid-client';
import type { OidcConfig } from '../../config.ts';
import { AppError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Vault } from '../keys/vault.ts';
import { emailAllowed, mapRole } from './role-mapping.ts';
import { type Identity, SessionEndedError } from './session.service.ts';

/** Why a sign-in was refused. The console shows a sentence for each; the log has the detail. */
export const SIGN_IN_REFUSALS = {
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
} as const;
export type SignInRefusalCode = keyof typeof SIGN_IN_REFUSALS;

export class SignInRefusedError extends AppError {
  readonly code = 'SIGN_IN_REFUSED';
  readonly refusal: SignInRefusalCode;
  constructor(refusal: SignInRefusalCode, detail: string) {
    super(SIGN_IN_REFUSALS[refusal], { cause: new Error(detail) });
    this.name = 'SignInRefusedError';
    this.refusal = refusal;
  }
}

const TRANSACTION_PURPOSE = 'oidc sign-in transactions';
/** How long a person may take at the identity provider. */
export const TRANSACTION_TTL_SECONDS = 600;
/** Algorithms an ID token may be signed with: asymmetric only (a client secret signs nothing here). */
const ID_TOKEN_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

interface Transaction {
  state: string;
  nonce: string;
  verifier: string;
  redirectUri: string;
}

/** The claim names the library's and jose's errors carry (`cause.claim`), wherever they sit. */
function failedClaim(error: unknown): string | undefined {
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause) {
    const claim = (e as { claim?: unknown }).claim;
    if (typeof claim === 'string') return claim;
    if (e === (e as { cause?: unknown }).cause) break;
  }
  return undefined;
}

/**
 * The OpenID Connect side of a console sign-in: discovery, the authorization code flow with PKCE
 * (openid-client checks state, PKCE and the response), then the ID token verified again with
 * jose against the provider's JWKS (signature, issuer, audience, expiry, nonce), and the role
 * mapped from its claims. Nothing of the flow is kept on the server: state, nonce and PKCE
 * verifier travel in an encrypted, short-lived, HTTP-only cookie bound to this browser.
 */
export class OidcSignIn {
  readonly #settings: OidcConfig;
  readonly #vault: Vault;
  readonly #logger: Logger;
  readonly #clockTolerance: number;
  #config: Promise<oidc.Configuration> | undefined;
  #jwks: JWTVerifyGetKey | undefined;

  constructor(deps: { settings: OidcConfig; vault: Vault; logger: Logger; clockToleranceSeconds: number }) {
    this.#settings = deps.settings;
    this.#vault = deps.vault;
    this.#logger = deps.logger;
    this.#clockTolerance = deps.clockToleranceSeconds;
  }

  get name(): string {
    return this.#settings.name;
  }

  /** Discovery, once; a failure is not cached, so the next sign-in tries again. */
  async #configuration(): Promise<oidc.Configuration> {
    this.#config ??= (async () => {
      const issuer = new URL(this.#settings.issuer);
      const auth = this.#settings.clientSecret
        ? oidc.ClientSecretPost(this.#settings.clientSecret)
        : oidc.None();
      // config.ts allows plain HTTP only for a provider on loopback.
      const execute = issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : [];
      const config = await oidc.discovery(issuer, this.#settings.clientId, undefined, auth, {
        execute,
        timeout: 10,
      });
      const jwksUri = config.serverMetadata().jwks_uri;
      if (!jwksUri) throw new Error('the provider publishes no jwks_uri');
      this.#jwks = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: 5000, cooldownDuration: 30_000 });
      return config;
    })();
    try {
      return await this.#config;
    } catch (error) {
      this.#config = undefined;
      throw new SignInRefusedError('PROVIDER_UNAVAILABLE', `discovery failed: ${(error as Error).message}`);
    }
  }

  /** Where the provider sends the person back: register exactly this URL with the provider. */
  static redirectUri(baseUrl: string): string {
    return `${baseUrl.replace(/\/+$/, '')}/auth/callback`;
  }

  /** The provider's sign-in URL, and the encrypted transaction to keep in the browser's cookie. */
  async begin(redirectUri: string): Promise<{ url: URL; transaction: string }> {
    const config = await this.#configuration();
    const tx: Transaction = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      verifier: oidc.randomPKCECodeVerifier(),
      redirectUri,
    };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: this.#settings.scopes,
      response_type: 'code',
      state: tx.state,
      nonce: tx.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(tx.verifier),
      code_challenge_method: 'S256',
    });
    const kid = this.#vault.currentKid;
    const transaction = await new EncryptJWT({ ...tx })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid })
      .setIssuedAt()
      .setExpirationTime(`${TRANSACTION_TTL_SECONDS}s`)
      .encrypt(this.#vault.derivedKey(TRANSACTION_PURPOSE, kid)!);
    return { url, transaction };
  }

  async #openTransaction(sealed: string | undefined): Promise<Transaction> {
    if (!sealed) throw new SignInRefusedError('SIGN_IN_EXPIRED', 'no sign-in transaction cookie');
    try {
      const { payload } = await jwtDecrypt(
        sealed,
        async (header) => {
          const key = this.#vault.derivedKey(TRANSACTION_PURPOSE, String(header.kid ?? ''));
          if (!key) throw new Error('unknown key');
          return key;
        },
        {
          keyManagementAlgorithms: ['dir'],
          contentEncryptionAlgorithms: ['A256GCM'],
          requiredClaims: ['exp'],
        },
      );
      return payload as unknown as Transaction;
    } catch (error) {
      throw new SignInRefusedError(
        'SIGN_IN_EXPIRED',
        `transaction cookie refused: ${(error as Error).message}`,
      );
    }
  }

  /**
   * Completes a sign-in from the provider's answer (the callback's query) and the transaction
   * cookie: the identity, with the role the mapping gives, or SignInRefusedError.
   */
  async complete(query: URLSearchParams, sealedTransaction: string | undefined): Promise<Identity> {
    const tx = await this.#openTransaction(sealedTransaction);
    const config = await this.#configuration();
    const current = new URL(tx.redirectUri);
    current.search = query.toString();
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: tx.verifier,
        expectedState: tx.state,
        expectedNonce: tx.nonce,
        idTokenExpected: true,
      });
    } catch (error) {
      throw this.#refusalOf(error);
    }
    const claims = await this.#verifyIdToken(tokens.id_token, tx.nonce);
    return this.#identity(claims, tokens);
  }

  /** Asks the provider again with a refresh token (a session renewal past the ID token's expiry). */
  async refresh(refreshToken: string, current: Pick<Identity, 'subject' | 'role'>): Promise<Identity> {
    const config = await this.#configuration();
    const tokens = await oidc.refreshTokenGrant(config, refreshToken);
    if (!tokens.id_token) {
      // No new ID token (some providers send one only at sign-in): the provider still vouches for
      // the person, since it refreshed; the role stays as mapped, until the new access token's expiry.
      const seconds = tokens.expiresIn() ?? 300;
      return {
        subject: current.subject,
        email: undefined,
        name: undefined,
        issuer: config.serverMetadata().issuer,
        role: current.role,
        refreshToken: tokens.refresh_token,
        idpCheckAt: new Date(Date.now() + seconds * 1000),
      };
    }
    const claims = await this.#verifyIdToken(tokens.id_token, undefined);
    if (claims.sub !== current.subject)
      throw new SessionEndedError('IDP_REFUSED', 'The identity provider answered for someone else.');
    try {
      return this.#identity(claims, tokens);
    } catch (error) {
      if (error instanceof SignInRefusedError)
        throw new SessionEndedError('NO_ROLE', SIGN_IN_REFUSALS[error.refusal]);
      throw error;
    }
  }

  /** The ID token verified by Tollgate itself with jose: signature by the provider's JWKS, issuer, audience, expiry, nonce. */
  async #verifyIdToken(idToken: string | undefined, nonce: string | undefined): Promise<JWTPayload> {
    if (!idToken) throw new SignInRefusedError('INVALID_TOKEN', 'the token response has no id_token');
    const config = await this.#configuration();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(idToken, this.#jwks!, {
        algorithms: ID_TOKEN_ALGORITHMS,
        issuer: config.serverMetadata().issuer,
        audience: this.#settings.clientId,
        clockTolerance: this.#clockTolerance,
        requiredClaims: ['exp', 'iat', 'sub', ...(nonce ? ['nonce'] : [])],
      }));
    } catch (error) {
      throw this.#refusalOf(error);
    }
    if (nonce !== undefined && payload.nonce !== nonce)
      throw new SignInRefusedError('NONCE_MISMATCH', 'ID token nonce differs from the transaction');
    return payload;
  }

  #identity(claims: JWTPayload, tokens: { refresh_token?: string | undefined }): Identity {
    const all = claims as Record<string, unknown>;
    if (!emailAllowed(all, this.#settings.allowedEmailDomains))
      throw new SignInRefusedError(
        'EMAIL_DOMAIN',
        'email missing, unverified or outside the allowed domains',
      );
    const role = mapRole(all, this.#settings);
    if (!role)
      throw new SignInRefusedError(
        'NO_ROLE',
        `no value of claim "${this.#settings.roleClaim}" maps to a role`,
      );
    return {
      subject: String(claims.sub),
      email: typeof all.email === 'string' ? all.email : undefined,
      name: typeof all.name === 'string' ? all.name : undefined,
      issuer: String(claims.iss),
      role,
      refreshToken: tokens.refresh_token,
      idpCheckAt: claims.exp ? new Date(claims.exp * 1000) : undefined,
    };
  }

  /** Maps the library's and jose's errors to a refusal the person can act on. */
  #refusalOf(error: unknown): SignInRefusedError {
    if (error instanceof SignInRefusedError) return error;
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const code = (error as { code?: string }).code;
    const claim = failedClaim(error);
    let refusal: SignInRefusalCode = 'INVALID_TOKEN';
    if (error instanceof oidc.AuthorizationResponseError) refusal = 'PROVIDER_ERROR';
    else if (error instanceof oidc.ResponseBodyError)
      refusal = error.error === 'invalid_grant' ? 'CODE_REFUSED' : 'PROVIDER_ERROR';
    else if (/"state"/.test(String((error as { cause?: Error }).cause?.message ?? '')))
      refusal = 'STATE_MISMATCH';
    else if (claim === 'nonce') refusal = 'NONCE_MISMATCH';
    else if (claim === 'aud' || claim === 'azp') refusal = 'WRONG_AUDIENCE';
    else if (claim === 'exp' || code === 'ERR_JWT_EXPIRED') refusal = 'TOKEN_EXPIRED';
    else if (code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || code === 'ECONNREFUSED')
      refusal = 'PROVIDER_UNAVAILABLE';
    this.#logger.debug({ refusal, detail }, 'oidc sign-in refused');
    return new SignInRefusedError(refusal, detail);
  }
}
