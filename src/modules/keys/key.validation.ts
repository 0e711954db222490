import { z } from 'zod';

export const MAX_SECRET_BYTES = 8 * 1024;
export const MAX_GRACE_SECONDS = 30 * 86_400;

/**
 * A provider secret: non-empty, at most 8 KiB, and nothing that could break the header or query
 * parameter it is injected into (control characters, surrounding whitespace). Messages never
 * echo the secret.
 */
export const secretSchema = z
  .string({ message: 'must be a string' })
  .min(1, { message: 'must not be empty' })
  .refine((s) => Buffer.byteLength(s) <= MAX_SECRET_BYTES, {
    message: `must be at most ${MAX_SECRET_BYTES} bytes`,
  })
  .refine((s) => PRINTABLE_ASCII.test(s), {
    message:
      'must be printable ASCII (letters, digits, punctuation, spaces): control characters (CR, LF, tab, NUL...) and non-ASCII characters cannot be sent in an HTTP header',
  })
  .refine((s) => s.trim() === s, { message: 'must not start or end with whitespace' });

/**
 * What a key can be sent as in any auth style: an HTTP header value carries visible ASCII and
 * spaces (RFC 9110 leaves other bytes to obsolete use, and neither Node nor undici sends them as
 * UTF-8), so a key such as "č" or one with U+2028 would be stored and then fail every call.
 */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

const label = z
  .string()
  .trim()
  .min(1, { message: 'must not be empty' })
  .max(200, { message: 'must be at most 200 characters' });
const weight = z
  .number()
  .int({ message: 'must be a whole number' })
  .min(1, { message: 'must be at least 1' })
  .max(1000, { message: 'must be at most 1000' });
const futureDate = z.date().refine((d) => d.getTime() > Date.now(), { message: 'must be in the future' });

export const addKeySchema = z.object({
  provider: z.string().min(1),
  secret: secretSchema,
  label: label.default('default'),
  weight: weight.default(1),
  expiresAt: futureDate.nullish().transform((v) => v ?? null),
});

export const rotateKeySchema = z.object({
  keyId: z.string().uuid({ message: 'is not a key id' }),
  newSecret: secretSchema,
  graceSeconds: z
    .number()
    .int({ message: 'must be a whole number' })
    .min(0, { message: 'must not be negative' })
    .max(MAX_GRACE_SECONDS, { message: `must be at most ${MAX_GRACE_SECONDS} (30 days)` })
    .default(3600),
  label: label.optional(),
});

export const updateKeySchema = z.object({
  keyId: z.string().uuid({ message: 'is not a key id' }),
  label: label.optional(),
  weight: weight.optional(),
  expiresAt: futureDate.nullish(),
});

/** The last four characters, for people to recognise a key; secrets shorter than 12 show none. */
export function last4(secret: string): string {
  return secret.length >= 12 ? secret.slice(-4) : '';
}
