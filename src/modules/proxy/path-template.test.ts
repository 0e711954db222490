import { describe, expect, it } from 'vitest';
import { pathTemplate } from './path-template.ts';

describe('path templates', () => {
  it('templates paths so usage groups by endpoint', () => {
    expect(pathTemplate('/rest/json/cves/2.0/CVE-2021-44228')).toBe('/rest/json/cves/2.0/:id');
    expect(pathTemplate('/v1/items/123?x=1')).toBe('/v1/items/:id');
    expect(pathTemplate('/v1/files/file-abcdefghijklmnopqrstuvwxyz/content')).toBe('/v1/files/:id/content');
    expect(pathTemplate('/v1/chat/completions')).toBe('/v1/chat/completions');
  });
});
