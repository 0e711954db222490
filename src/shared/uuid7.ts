import { randomUUID } from 'node:crypto';

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Ids that grow with time
 * keep the primary-key index of an append-mostly table (usage events) compact and cheap to
 * insert into, unlike random v4 ids. The random part comes from randomUUID (a v4, whose variant
 * bits are already right), which draws from a pooled buffer: several times cheaper than
 * randomBytes(16) for every event.
 */
export function uuid7(now = Date.now()): string {
  const time = now.toString(16).padStart(12, '0');
  const random = randomUUID(); // xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(15, 18)}-${random.slice(19)}`;
}
