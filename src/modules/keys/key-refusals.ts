/**
 * Judging a provider's refusal of a key (401/403): is it about the key, or about the request?
 * Within a call, a refused key is compared with another key's answer: another key accepted means
 * the first key is bad (marked INVALID); another key refused too means the request is at fault
 * (no key is marked). A refusal with nothing to compare is verified off the request path with
 * the provider's health check, at most once per key a minute.
 */
import type { Logger } from '../../shared/logger.ts';
import type { Provider } from '../providers/provider.entity.ts';
import type { KeyRing, UsableKey } from './key-ring.ts';
import type { ProviderKeyService } from './provider-key.service.ts';

/** A lone refusal of a key is verified (or recorded) at most once in this time. */
const REFUSAL_QUIET_MS = 60_000;

export type VerifyKey = (
  provider: Provider,
  key: UsableKey,
) => Promise<{ status: number | null; skipped: boolean; error: string | null }>;

/** Where the call was refused: for the log lines and the problem recorded on the key. */
export interface RefusedCall {
  method: string;
  /** The path as usage templates it (ids replaced). */
  pathTemplate: string;
}

function isRefusal(status: number): boolean {
  return status === 401 || status === 403;
}

export class KeyRefusals {
  readonly #keyRing: KeyRing;
  readonly #keys: ProviderKeyService;
  readonly #logger: Logger;
  readonly #verifyKey: VerifyKey | undefined;
  /** keyId → when a lone refusal of it was last verified or recorded. */
  readonly #seen = new Map<string, number>();

  constructor(deps: { keyRing: KeyRing; keys: ProviderKeyService; logger: Logger; verifyKey?: VerifyKey }) {
    this.#keyRing = deps.keyRing;
    this.#keys = deps.keys;
    this.#logger = deps.logger;
    this.#verifyKey = deps.verifyKey;
  }

  /** The judge of one call's answers from one provider. */
  judge(provider: Provider, call: RefusedCall, replayable: boolean): KeyRefusalJudge {
    return new KeyRefusalJudge(this, provider, call, replayable);
  }

  /** The provider refused this key, and the evidence says the key is at fault: it is not used again. */
  invalidate(provider: Provider, keyId: string, problem: string): void {
    this.#keyRing.disable(keyId);
    this.#logger.warn({ provider: provider.slug, keyId, problem }, 'provider key marked INVALID');
    void this.#keys.markInvalid(keyId, problem).catch(() => undefined);
  }

  logRequestRefused(provider: Provider, call: RefusedCall, status: number): void {
    this.#logger.debug(
      { provider: provider.slug, method: call.method, path: call.pathTemplate, status },
      'every key tried was refused; no key is marked',
    );
  }

  /**
   * A key was refused with no other key's answer to compare: the caller's request alone does not
   * condemn it. With an enabled health check the key is probed (off the request path) and marked
   * INVALID only if the probe is refused with 401/403 too; otherwise the key stays ACTIVE and the
   * refusal is logged and audited (at most once per key a minute, however often callers try).
   */
  verifyLone(provider: Provider, call: RefusedCall, key: UsableKey, status: number, now = Date.now()): void {
    if ((this.#seen.get(key.id) ?? 0) > now - REFUSAL_QUIET_MS) return;
    this.#seen.set(key.id, now);
    if (this.#seen.size > 10_000) {
      for (const [id, at] of this.#seen) if (at <= now - REFUSAL_QUIET_MS) this.#seen.delete(id);
    }
    const refusal = `${provider.slug} answered ${status} to ${call.method} ${call.pathTemplate}`;
    const keep = (why: string) => {
      this.#logger.warn(
        { provider: provider.slug, keyId: key.id, status, method: call.method, path: call.pathTemplate },
        `provider refused a key; not marked INVALID: ${why}`,
      );
      void this.#keys.recordRefusal(key.id, `${refusal}; ${why}`).catch(() => undefined);
    };
    if (!provider.healthCheck.enabled || !this.#verifyKey) {
      keep('no health check to verify the key with');
      return;
    }
    const check = provider.healthCheck;
    void this.#verifyKey(provider, key)
      .then((probe) => {
        if (probe.status !== null && isRefusal(probe.status)) {
          this.invalidate(
            provider,
            key.id,
            `${refusal}, and the health check ${check.method} ${check.path} answered ${probe.status}`,
          );
        } else if (probe.skipped || probe.status === null) {
          keep(`the health check could not verify it (${probe.error ?? 'no answer'})`);
        } else {
          keep(`the health check accepted it (status ${probe.status})`);
        }
      })
      .catch((error: unknown) => keep(`the health check failed (${(error as Error).message})`));
  }
}

/**
 * One call's refusals from one provider. A refused key gets one second opinion per call (another
 * key, when the body can be sent again); `end` verifies a refusal left without one.
 */
export class KeyRefusalJudge {
  readonly #refusals: KeyRefusals;
  readonly #provider: Provider;
  readonly #call: RefusedCall;
  /** The refused key awaiting another key's answer. */
  #refused: { key: UsableKey; status: number } | undefined;
  /** Two keys were refused: the refusal is about the request, no key is suspect. */
  #requestRefused = false;
  #secondOpinionUsed: boolean;

  constructor(refusals: KeyRefusals, provider: Provider, call: RefusedCall, replayable: boolean) {
    this.#refusals = refusals;
    this.#provider = provider;
    this.#call = call;
    this.#secondOpinionUsed = !replayable;
  }

  /**
   * Judges an answer from `key`. True when it is a refusal worth asking another key about (the
   * caller should then try `anotherKey`); `failedKeys` gets the keys not to pick again.
   */
  afterAnswer(
    key: UsableKey | undefined,
    status: number,
    failedKeys: Set<string>,
    hasAnotherKey: (exclude: Set<string>) => boolean,
  ): boolean {
    const refused = isRefusal(status);
    const pending = this.#refused;
    if (pending && key && key.id !== pending.key.id) {
      if (refused) {
        this.#refusals.logRequestRefused(this.#provider, this.#call, status);
        this.#requestRefused = true;
      } else {
        this.#refusals.invalidate(
          this.#provider,
          pending.key.id,
          `${this.#provider.slug} answered ${pending.status}`,
        );
      }
      this.#refused = undefined;
    }
    if (!refused || !key || key.id === 'env' || this.#requestRefused || failedKeys.has(key.id)) return false;
    failedKeys.add(key.id);
    if (!this.#secondOpinionUsed && hasAnotherKey(failedKeys)) {
      this.#secondOpinionUsed = true;
      this.#refused = { key, status };
      return true;
    }
    // No other key to ask: verified off the request path (see `end`).
    this.#refused ??= { key, status };
    return false;
  }

  /** No other key answered: the refusal alone is no evidence against the key. */
  end(): void {
    if (this.#refused) {
      this.#refusals.verifyLone(this.#provider, this.#call, this.#refused.key, this.#refused.status);
    }
  }
}
