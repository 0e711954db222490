import { createHmac, hkdfSync } from 'node:crypto';
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from 'jose';
import type { MasterKey } from '../../config.ts';
import { AppError } from '../../shared/errors.ts';

/** What a ciphertext is bound to: decryption refuses it anywhere else. */
export interface SecretBinding {
  providerId: string;
  keyId: string;
}

export class DecryptionError extends AppError {
  readonly code = 'DECRYPTION_FAILED';
  readonly reason: string;
  constructor(reason: string) {
    super(`A stored secret could not be decrypted (${reason}).`);
    this.name = 'DecryptionError';
    this.reason = reason;
  }
}

/** The short reason of a decryption failure, for logs, audit and the key's `problem`. */
export function decryptionReason(error: unknown): string {
  return error instanceof DecryptionError ? error.reason : 'unexpected error';
}

const ENC = 'A256GCM';
const BINDING_PROVIDER = 'tg_pid';
const BINDING_KEY = 'tg_kid';

/**
 * Encrypts provider secrets as compact JWE (`dir` + A256GCM) under the current master key.
 * The protected header (which GCM authenticates) carries the master key id and the provider
 * and key ids the secret belongs to, so a ciphertext copied onto another row fails to decrypt.
 * Each encryption draws a fresh random IV (jose does).
 */
export class Vault {
  readonly #keys: Map<string, Uint8Array>;
  readonly #fingerprintKeys = new Map<string, Buffer>();
  readonly currentKid: string;

  constructor(masterKeys: readonly MasterKey[]) {
    const first = masterKeys[0];
    if (!first) throw new Error('Vault needs at least one master key');
    this.currentKid = first.kid;
    this.#keys = new Map(masterKeys.map((k) => [k.kid, k.key]));
  }

  get kids(): string[] {
    return [...this.#keys.keys()];
  }

  hasKid(kid: string): boolean {
    return this.#keys.has(kid);
  }

  /**
   * A 32-byte key for `purpose`, derived (HKDF-SHA256) from master key `kid` (the current one by
   * default): other features get keys every replica shares without a secret of their own to
   * configure, and a key for one purpose reveals nothing about the master key or another purpose.
   */
  derivedKey(purpose: string, kid: string = this.currentKid): Uint8Array | undefined {
    const key = this.#keys.get(kid);
    if (!key) return undefined;
    return new Uint8Array(hkdfSync('sha256', key, new Uint8Array(0), `tollgate ${purpose}`, 32));
  }

  async encrypt(secret: string, binding: SecretBinding): Promise<{ ciphertext: string; kid: string }> {
    const key = this.#keys.get(this.currentKid)!;
    const ciphertext = await new CompactEncrypt(new TextEncoder().encode(secret))
      .setProtectedHeader({
        alg: 'dir',
        enc: ENC,
        kid: this.currentKid,
        [BINDING_PROVIDER]: binding.providerId,
        [BINDING_KEY]: binding.keyId,
      })
      .encrypt(key);
    return { ciphertext, kid: this.currentKid };
  }

  async decrypt(ciphertext: string, binding: SecretBinding): Promise<string> {
    let header: Record<string, unknown>;
    try {
      header = decodeProtectedHeader(ciphertext);
    } catch {
      throw new DecryptionError('not a JWE');
    }
    const kid = typeof header.kid === 'string' ? header.kid : '';
    const key = this.#keys.get(kid);
    if (!key) throw new DecryptionError(`master key "${kid}" is not configured`);
    if (header[BINDING_PROVIDER] !== binding.providerId || header[BINDING_KEY] !== binding.keyId) {
      throw new DecryptionError('it belongs to another key');
    }
    try {
      const { plaintext } = await compactDecrypt(ciphertext, key, {
        keyManagementAlgorithms: ['dir'],
        contentEncryptionAlgorithms: [ENC],
      });
      return new TextDecoder().decode(plaintext);
    } catch {
      throw new DecryptionError('authentication failed: the ciphertext was altered');
    }
  }

  /** The master key id a ciphertext was written under, without decrypting it. */
  static kidOf(ciphertext: string): string | undefined {
    try {
      const kid = decodeProtectedHeader(ciphertext).kid;
      return typeof kid === 'string' ? kid : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * A keyed hash identifying a secret without revealing it: HMAC-SHA-256 under a key derived
   * (HKDF) from the current master key, first 16 hex digits. Recomputed on master-key rotation.
   */
  fingerprint(secret: string): string {
    let key = this.#fingerprintKeys.get(this.currentKid);
    if (!key) {
      key = Buffer.from(
        hkdfSync('sha256', this.#keys.get(this.currentKid)!, 'tollgate', 'provider-key-fingerprint', 32),
      );
      this.#fingerprintKeys.set(this.currentKid, key);
    }
    return createHmac('sha256', key).update(secret).digest('hex').slice(0, 16);
  }
}
