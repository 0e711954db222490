import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import type { Plugin } from 'graphql-yoga';

const brotli = promisify(brotliCompress);
const gzipped = promisify(gzip);

interface Page {
  html: string;
  etag: string;
  br: Uint8Array<ArrayBuffer>;
  gzip: Uint8Array<ArrayBuffer>;
}

/**
 * GraphiQL is one 9 MB page: yoga inlines the whole editor so that it works without a CDN. Sent
 * as it is, every reload downloads it again. The page does not change while the process runs, so
 * it is compressed once, on first demand (brotli about 1.9 MB, gzip about 2.4 MB), and carries an
 * ETag: a browser that has it revalidates and gets 304. Only this page is touched; GraphQL
 * responses, and SSE streams above all, are left as they are.
 */
export function useGraphiqlDelivery(): Plugin {
  let page: Promise<Page> | undefined;

  const prepare = async (html: string): Promise<Page> => ({
    html,
    etag: `"${createHash('sha256').update(html).digest('base64url').slice(0, 27)}"`,
    br: new Uint8Array(await brotli(html, { params: { [constants.BROTLI_PARAM_QUALITY]: 9 } })),
    gzip: new Uint8Array(await gzipped(html, { level: 9 })),
  });

  return {
    async onResponse({ request, response, setResponse, fetchAPI }) {
      if (request.method !== 'GET' || response.status !== 200) return;
      if (!response.headers.get('content-type')?.startsWith('text/html')) return;
      const html = await response.text();
      // Rendered from the same options every time; should it ever differ, the new page wins.
      if (!page || (await page).html !== html) page = prepare(html);
      const current = await page;

      const headers = new fetchAPI.Headers(response.headers);
      headers.set('etag', current.etag);
      headers.set('cache-control', 'no-cache');
      headers.set('vary', 'accept-encoding');
      headers.delete('content-length');
      if (request.headers.get('if-none-match') === current.etag) {
        setResponse(new fetchAPI.Response(null, { status: 304, headers }));
        return;
      }
      const accepted = request.headers.get('accept-encoding') ?? '';
      const encoding = /\bbr\b/.test(accepted) ? 'br' : /\bgzip\b/.test(accepted) ? 'gzip' : undefined;
      if (encoding) headers.set('content-encoding', encoding);
      const body = encoding ? current[encoding] : current.html;
      setResponse(new fetchAPI.Response(body, { status: 200, headers }));
    },
  };
}
