import { describe, expect, it } from 'vitest';
import { needleOf, redactValues } from './secret-redaction.ts';

const KEY = '6f1c2a9e-1b2c-4d3e-8f9a-0b1c2d3e4f5a';
const redacted = (values: string[], key = KEY) => {
  const copy = values.slice();
  redactValues(copy, needleOf(key), 'R');
  return copy;
};

describe('secret redaction', () => {
  it('leaves ordinary headers alone, long base64 runs and list values included', () => {
    const values = [
      'Fri, 04 Dec 2026 17:41:03 GMT',
      '__cf_bm=Xy9.abcDEF_ghiJKLmnoPQRstu-1733333333-1.0.1.1-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefGHIJKLmnopqrSTUVwxyz_0123; path=/',
      `Basic ${Buffer.from('user:another-key-that-is-not-ours').toString('base64')}`,
      '6f1c2a9e-1b2c, 4d3e', // a piece of the key only
    ];
    expect(redacted(values)).toEqual(values);
  });

  it('replaces only the span of a percent-encoded key, keeping the rest of the value', () => {
    const location = `/x?a=1&k=${KEY.replaceAll('-', '%2d')}&b=2`;
    expect(redacted([location])).toEqual(['/x?a=1&k=R&b=2']);
  });

  it('redacts each value a split key touches, over three values too, and nothing else', () => {
    expect(redacted(['before', KEY.slice(0, 10), KEY.slice(10, 20), KEY.slice(20), 'after'])).toEqual([
      'before',
      'R',
      'R',
      'R',
      'after',
    ]);
  });

  it('finds a key whose UTF-8 bytes are percent-encoded (a key stored before keys were ASCII only)', () => {
    const key = 'clé-secrète-123456';
    expect(redacted([`/x?k=${encodeURIComponent(key)}`], key)).toEqual(['/x?k=R']);
  });
});
