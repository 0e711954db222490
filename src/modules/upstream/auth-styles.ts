/**
 * How a provider key goes upstream, one strategy per auth style: whether the style sends a key
 * at all, which name it needs and what that name may be, and how the key is injected. The
 * proxy, health probes and provider validation all ask here instead of comparing the style.
 */
import { withQueryParameter } from './query.ts';

export const AUTH_STYLES = ['BEARER', 'HEADER', 'QUERY', 'NONE'] as const;
export type AuthStyle = (typeof AUTH_STYLES)[number];

/** What injection writes into: the upstream request's headers and its query string. */
export interface InjectionTarget {
  headers: Record<string, string | string[]>;
  query: string;
}

export interface AuthStrategy {
  /** Whether calls need a key (a provider without one answers NO_USABLE_KEY). */
  readonly usesKey: boolean;
  /** Whether the style needs a name (the header or query parameter that carries the key). */
  readonly usesName: boolean;
  /** Why `name` cannot carry the key in this style, or undefined when it can. */
  checkName(name: string): string | undefined;
  /**
   * Why `secret` cannot be sent in this style, or undefined when it can. On top of the checks
   * every secret passes (printable ASCII, no surrounding whitespace: keys/key.validation.ts).
   */
  checkSecret(secret: string): string | undefined;
  inject(target: InjectionTarget, name: string | null, secret: string): void;
}

/** RFC 9110 token: what an HTTP header name may contain (so no CR, LF, colon or space). */
const HEADER_NAME_PATTERN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const QUERY_NAME_PATTERN = /^[A-Za-z0-9._~-]+$/;
/** Headers Tollgate or Node manage itself; injecting a key into one of them would break the call. */
const RESERVED_HEADERS = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'keep-alive',
  'proxy-authorization',
  'proxy-connection',
  'x-tollgate-key',
  'cookie',
]);

const noName = () => undefined;
const anySecret = () => undefined;

/**
 * A bearer credential is one token (RFC 6750 b64token: no spaces). The usual mistake is pasting
 * the whole header value, "Bearer sk-...", which would go upstream as "Bearer Bearer sk-..." and
 * fail every call with a 401 that looks like a bad key.
 */
function checkBearerSecret(secret: string): string | undefined {
  if (/^bearer\s/i.test(secret))
    return 'must be the key alone, without the "Bearer " prefix: Tollgate sends "Authorization: Bearer <key>" itself';
  if (/\s/.test(secret)) return 'must not contain spaces: a bearer token is a single word (RFC 6750)';
  return undefined;
}

export const AUTH_STRATEGIES: Record<AuthStyle, AuthStrategy> = {
  BEARER: {
    usesKey: true,
    usesName: false,
    checkName: noName,
    checkSecret: checkBearerSecret,
    inject: (target, _name, secret) => {
      target.headers.authorization = `Bearer ${secret}`;
    },
  },
  HEADER: {
    usesKey: true,
    usesName: true,
    checkName: (name) => {
      if (!HEADER_NAME_PATTERN.test(name) || name.length > 100)
        return "must be a valid HTTP header name (letters, digits and !#$%&'*+.^_`|~-; no spaces, CR or LF)";
      if (RESERVED_HEADERS.has(name.toLowerCase()))
        return `"${name}" is managed by the gateway and cannot carry a key`;
      return undefined;
    },
    checkSecret: anySecret,
    inject: (target, name, secret) => {
      if (name) target.headers[name.toLowerCase()] = secret;
    },
  },
  QUERY: {
    usesKey: true,
    usesName: true,
    checkName: (name) =>
      !QUERY_NAME_PATTERN.test(name) || name.length > 100
        ? 'must be a query parameter name of letters, digits and ._~-'
        : undefined,
    // Any printable secret goes into a query string: it is percent-encoded on the way.
    checkSecret: anySecret,
    inject: (target, name, secret) => {
      if (name) target.query = withQueryParameter(target.query, name, secret);
    },
  },
  NONE: {
    usesKey: false,
    usesName: false,
    checkName: noName,
    checkSecret: anySecret,
    inject: () => undefined,
  },
};

export function authStrategy(style: AuthStyle): AuthStrategy {
  return AUTH_STRATEGIES[style];
}
