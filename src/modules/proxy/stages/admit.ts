/**
 * Stage 1, admit: the path and method are ones Tollgate forwards, the client key is valid, the
 * provider exists and this client may call it; then the body is read (buffered when small).
 */
import type { IncomingMessage } from 'node:http';
import type { AuthenticatedClient, ClientCache } from '../../clients/client-cache.ts';
import { SLUG_PATTERN } from '../../providers/provider.validation.ts';
import type { ProviderCache } from '../../providers/provider-cache.ts';
import { headerValue } from '../../upstream/upstream-request.ts';
import type { Outcome } from '../../usage/usage-event.entity.ts';
import type { AdmittedRequest, CallOutcome, CallStart } from '../call-context.ts';
import { GatewayError } from '../proxy-errors.ts';
import type { CallTrace } from '../proxy-tracing.ts';
import { readBody } from '../request-body.ts';

/**
 * Never forwarded: TRACE (and IIS's TRACK) echo the request, the injected key included, back to
 * the caller; CONNECT would make Tollgate a tunnel. (node:http hands CONNECT to the server's
 * 'connect' event, see src/server/http.ts; it is here too in case that ever changes.)
 */
const REFUSED_METHODS = new Set(['TRACE', 'TRACK', 'CONNECT']);

export interface AdmitDeps {
  clients: ClientCache;
  providers: ProviderCache;
  maxRequestBytes: number;
}

export async function admit(
  call: CallStart,
  outcome: CallOutcome,
  trace: CallTrace | undefined,
  deps: AdmitDeps,
): Promise<AdmittedRequest> {
  if (REFUSED_METHODS.has(call.method)) {
    throw new GatewayError('METHOD_NOT_ALLOWED', `Tollgate does not forward ${call.method} requests.`);
  }
  const { slug, rest: restPath } = parsePath(call.path);
  const url = call.req.url ?? '';
  const query = url.indexOf('?');
  outcome.restPath = restPath;
  const client = authenticate(call.req, deps.clients);
  outcome.client = client;
  const provider = deps.providers.bySlug(slug);
  if (!provider) throw notFound(slug);
  outcome.provider = provider;
  trace?.provider(provider);
  // A provider this client may not call is answered exactly like one that does not exist, so
  // a client key cannot list the providers; usage still records the refusal as FORBIDDEN.
  if (client.allowedProviderIds && !client.allowedProviderIds.has(provider.id)) {
    throw notFound(slug, 'FORBIDDEN');
  }
  const body = hasBody(call.req) ? await readBody(call.req, deps.maxRequestBytes) : undefined;
  outcome.requestBytes = body instanceof Buffer ? body.length : 0;
  return {
    ...call,
    client,
    provider,
    restPath,
    rest: query >= 0 ? `${restPath}${url.slice(query)}` : restPath,
    body,
  };
}

function notFound(slug: string, outcome?: Outcome): GatewayError {
  return new GatewayError('PROVIDER_NOT_FOUND', `No provider "${slug}".`, { outcome });
}

export function parsePath(path: string): { slug: string; rest: string } {
  const match = /^\/proxy\/([^/]+)(\/.*)?$/.exec(path);
  const slug = match?.[1] ?? '';
  if (!SLUG_PATTERN.test(slug)) throw new GatewayError('PROVIDER_NOT_FOUND', 'Use /proxy/{provider}/{path}.');
  const rest = match?.[2] ?? '/';
  if (hasDotSegment(rest)) {
    throw new GatewayError('INVALID_PATH', 'The path must not contain "." or ".." segments, encoded or not.');
  }
  return { slug, rest };
}

/**
 * Whether a path has a `.` or `..` segment. The path is appended to the provider's base path as it
 * came, and an upstream (or a proxy before it) that resolves dot segments would let the caller
 * out of that base path, with the provider key. A segment counts after percent-decoding (`%2e`),
 * with `\` and an encoded `/` as separators (some servers treat them so), and without `;`
 * parameters (Tomcat reads `..;x` as `..`). `a..b` or `.well-known` are ordinary names.
 */
export function hasDotSegment(path: string): boolean {
  // Nearly every path: nothing that could spell a dot, so nothing to decode.
  if (!path.includes('.') && !path.includes('%')) return false;
  for (const segment of path.split('/')) {
    let decoded = segment;
    if (segment.includes('%')) {
      try {
        decoded = decodeURIComponent(segment);
      } catch {
        // Not valid percent-encoding as a whole: still read the escapes a server might decode.
        decoded = segment.replace(/%2e/gi, '.').replace(/%2f/gi, '/').replace(/%5c/gi, '\\');
      }
    }
    for (const part of decoded.split(/[\\/]/)) {
      const name = part.split(';', 1)[0];
      if (name === '.' || name === '..') return true;
    }
  }
  return false;
}

/** The provider slug of any path, for usage of calls refused before the path was parsed. */
export function parsePathLoose(path: string): string {
  return (/^\/proxy\/([^/]{1,63})/.exec(path)?.[1] ?? '').replace(/[^a-z0-9-]/g, '');
}

function authenticate(req: IncomingMessage, clients: ClientCache): AuthenticatedClient {
  const header = req.headers.authorization;
  const bearer = header && /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  const key = bearer || headerValue(req.headers['x-tollgate-key']);
  if (!key)
    throw new GatewayError(
      'UNAUTHENTICATED',
      'Send your client key as Authorization: Bearer <key> or x-tollgate-key.',
    );
  const client = clients.authenticate(key);
  if (!client) throw new GatewayError('UNAUTHENTICATED', 'Unknown, revoked or expired client key.');
  return client;
}

/** Whether the request has a body to read (a GET without one needs no read at all). */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}
