/** How usage names a call's path: the path with ids replaced by `:id`. */

const ID_SEGMENT = /^(?:\d+|[0-9a-f-]{16,}|[A-Za-z0-9_-]{24,}|CVE-\d{4}-\d+)$/i;

/** Templates of recent (short) paths: most calls repeat a few endpoints. Cleared when full. */
const templates = new Map<string, string>();
const TEMPLATE_CACHE_SIZE = 2000;

/** The path with ids replaced by `:id`, so usage groups by endpoint rather than by object. */
export function pathTemplate(path: string): string {
  let template = templates.get(path);
  if (template === undefined) {
    const [pathname = ''] = path.split('?');
    template = pathname
      .split('/')
      .slice(0, 12)
      .map((segment) => (ID_SEGMENT.test(segment) ? ':id' : segment))
      .join('/')
      .slice(0, 300);
    if (path.length <= 256) {
      if (templates.size >= TEMPLATE_CACHE_SIZE) templates.clear();
      templates.set(path, template);
    }
  }
  return template;
}

/** Milliseconds to two decimals, as usage and headers report them. */
export function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
