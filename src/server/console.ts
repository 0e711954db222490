import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { sendJson } from './http.ts';

/** Where `npm run build:console` writes the console (console/vite.config.ts). */
export const CONSOLE_DIST = fileURLToPath(new URL('../../console/dist/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};
/** Worth compressing; images and fonts are compressed already. */
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.txt', '.map']);

interface Asset {
  type: string;
  etag: string;
  /** Vite names these after their content hash: they never change under that name. */
  immutable: boolean;
  identity: Buffer;
  br?: Buffer;
  gzip?: Buffer;
}

/**
 * The console's policy: its own scripts and styles only (no inline script, no eval), GraphQL
 * over fetch and WebSocket to this origin only, and never framed. `'self'` covers ws(s) of the
 * same host in CSP 3; the explicit ws/wss sources are for browsers that predate it.
 */
export function consoleCsp(host: string | undefined): string {
  const sameHostSockets = host && /^[A-Za-z0-9.\-:[\]]+$/.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self'${sameHostSockets}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

function securityHeaders(req: IncomingMessage): Record<string, string> {
  return {
    'content-security-policy': consoleCsp(req.headers.host),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
  };
}

/** Every file of the build, read and compressed once: the whole console is a few hundred KB. */
function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (folder: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = join(folder, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) {
        const name = relative(dir, full).split(sep).join('/');
        const ext = extname(name);
        const identity = readFileSync(full);
        const compress = COMPRESSIBLE.has(ext) && identity.length > 512;
        assets.set(name, {
          type: TYPES[ext] ?? 'application/octet-stream',
          etag: `"${createHash('sha256').update(identity).digest('base64url').slice(0, 27)}"`,
          immutable: name.startsWith('assets/'),
          identity,
          br: compress
            ? brotliCompressSync(identity, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } })
            : undefined,
          gzip: compress ? gzipSync(identity, { level: 9 }) : undefined,
        });
      }
    }
  };
  walk(dir);
  return assets;
}

export interface ConsoleRoute {
  /** Answers /console and everything under it. */
  serve(req: IncomingMessage, res: ServerResponse, path: string): void;
}

/**
 * The operator console: the files of console/dist, served only by their names in the build (a
 * path is looked up in that list, never joined onto the disk path, so no `..` can leave it).
 * Any other path under /console gets index.html, where the console's router takes over; a
 * missing file under /console/assets/ is a 404 (a stale page asking for an old chunk).
 */
export function createConsoleRoute(dir: string = CONSOLE_DIST): ConsoleRoute {
  let assets: Map<string, Asset> | undefined;
  const load = (): Map<string, Asset> | undefined => {
    // Read on first use, and again while missing: a build made after start is picked up.
    if (!assets && existsSync(join(dir, 'index.html')) && statSync(dir).isDirectory())
      assets = loadAssets(dir);
    return assets;
  };

  return {
    serve(req, res, path) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return sendJson(
          res,
          405,
          { error: { code: 'METHOD_NOT_ALLOWED', message: 'The console is read with GET.' } },
          { allow: 'GET, HEAD' },
        );
      }
      const files = load();
      if (!files) {
        return sendJson(res, 503, {
          error: {
            code: 'CONSOLE_NOT_BUILT',
            message: 'The operator console is not built: run `npm run build:console` (npm install does it).',
          },
        });
      }
      let name: string;
      try {
        name = decodeURIComponent(path.replace(/^\/console\/?/, ''));
      } catch {
        name = '';
      }
      let asset = files.get(name);
      if (!asset || name === '') {
        if (name.startsWith('assets/')) {
          return sendJson(res, 404, { error: { code: 'NOT_FOUND', message: `No console file ${name}.` } });
        }
        asset = files.get('index.html')!;
      }
      return send(req, res, asset);
    },
  };
}

function send(req: IncomingMessage, res: ServerResponse, asset: Asset): void {
  const headers: Record<string, string> = {
    ...securityHeaders(req),
    'content-type': asset.type,
    etag: asset.etag,
    // index.html names the current hashed files: always revalidated. The hashed files never change.
    'cache-control': asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    vary: 'accept-encoding',
  };
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const accepted = String(req.headers['accept-encoding'] ?? '');
  const encoding =
    asset.br && /\bbr\b/.test(accepted) ? 'br' : asset.gzip && /\bgzip\b/.test(accepted) ? 'gzip' : undefined;
  const body = encoding ? asset[encoding]! : asset.identity;
  if (encoding) headers['content-encoding'] = encoding;
  headers['content-length'] = String(body.length);
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}
