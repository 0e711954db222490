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
  .refine((s) => !hasControlCharacter(s), {
    message: 'must not contain control characters (CR, LF, tab, NUL...)',
  })
  .refine((s) => s.trim() === s, { message: 'must not start or end with whitespace' });

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

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
