import { z } from 'zod';
import type { Orm } from '../../db/orm.ts';
import { type Actor, requireRole } from '../../shared/actor.ts';
import type { Logger } from '../../shared/logger.ts';
import { secretBinding } from '../alerts/alert-channel.service.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { JobQueue } from '../jobs/job-queue.ts';
import { type MasterKeyRotation, MasterKeyRotationEntity } from './master-key-rotation.entity.ts';
import type { ProviderKeyService } from './provider-key.service.ts';
import { decryptionReason, type Vault } from './vault.ts';

const BATCH = 200;
const SYSTEM: Actor = { subject: 'system', role: 'admin', requestId: undefined };

export interface KidUsage {
  kid: string;
  secrets: number;
  configured: boolean;
  current: boolean;
}

export class MissingMasterKeyError extends Error {
  constructor(missing: { kid: string; secrets: number }[]) {
    super(
      missing
        .map(
          ({ kid, secrets }) =>
            `Master key "${kid}" is not configured, but ${secrets} stored secret(s) are encrypted under it. ` +
            'Add it to TOLLGATE_MASTER_KEYS (after the current key) to start; rotateMasterKey then moves them to the current key.',
        )
        .join('\n'),
    );
    this.name = 'MissingMasterKeyError';
  }
}

export const MASTER_KEY_ROTATION_QUEUE = 'master-key-rotation';

/**
 * Master-key usage and rotation. A rotation re-encrypts every stored secret under the current
 * master key in batches (SELECT ... FOR UPDATE SKIP LOCKED, so replicas can share the work and
 * a crash loses at most one uncommitted batch). It runs as a job, enqueued in the transaction
 * that creates its progress row: a failure or a shutdown part-way makes the job retry (on any
 * replica, with backoff), and a start-up finding a rotation still RUNNING enqueues it again.
 */
export class MasterKeyService {
  readonly #orm: Orm;
  readonly #vault: Vault;
  readonly #audit: AuditService;
  readonly #keys: ProviderKeyService;
  readonly #logger: Logger;
  readonly #jobs: JobQueue;
  #running: Promise<MasterKeyRotation | undefined> | undefined;
  #stopping = false;

  constructor(deps: {
    orm: Orm;
    vault: Vault;
    audit: AuditService;
    keys: ProviderKeyService;
    logger: Logger;
    jobs: JobQueue;
  }) {
    this.#jobs = deps.jobs;
    deps.jobs.define({
      name: MASTER_KEY_ROTATION_QUEUE,
      schema: z.object({}),
      retryLimit: 10,
      retryDelaySeconds: 2,
      backoff: true,
      handler: async (_data, job) => {
        await this.#runOnce(job.logger);
      },
    });
    this.#orm = deps.orm;
    this.#vault = deps.vault;
    this.#audit = deps.audit;
    this.#keys = deps.keys;
    this.#logger = deps.logger;
  }

  get currentKid(): string {
    return this.#vault.currentKid;
  }

  async usage(): Promise<KidUsage[]> {
    const rows = (await this.#orm.em.fork().execute(
      `select kid, count(*)::int as n from (
           select kid from provider_keys where kid is not null
           union all select secret_kid as kid from alert_channels) secrets
         group by kid order by kid`,
    )) as {
      kid: string;
      n: number;
    }[];
    const counts = new Map(rows.map((r) => [r.kid, r.n]));
    const kids = [...new Set([...this.#vault.kids, ...counts.keys()])];
    return kids.map((kid) => ({
      kid,
      secrets: counts.get(kid) ?? 0,
      configured: this.#vault.hasKid(kid),
      current: kid === this.#vault.currentKid,
    }));
  }

  /** Start-up check: refuse to run with secrets whose master key is not configured. */
  async assertAllKidsConfigured(): Promise<void> {
    const missing = (await this.usage()).filter((u) => !u.configured && u.secrets > 0);
    if (missing.length > 0) throw new MissingMasterKeyError(missing);
  }

  async latest(): Promise<MasterKeyRotation | null> {
    const [latest] = await this.#orm.em
      .fork()
      .find(MasterKeyRotationEntity, {}, { orderBy: { startedAt: 'desc' }, limit: 1 });
    return latest ?? null;
  }

  /** Starts (or joins) a rotation to the current master key; returns at once with its progress row. */
  async start(actor: Actor): Promise<MasterKeyRotation> {
    requireRole(actor, 'admin');
    return this.#orm.em.fork().transactional(async (em) => {
      let rotation = await em.findOne(MasterKeyRotationEntity, { status: 'RUNNING' });
      if (!rotation) {
        const [row] = (await em.execute(
          `select (select count(*) from provider_keys where kid is not null and kid <> ?)
              + (select count(*) from alert_channels where secret_kid <> ?) as n`,
          [this.#vault.currentKid, this.#vault.currentKid],
        )) as { n: number | string }[];
        rotation = em.create(MasterKeyRotationEntity, {
          targetKid: this.#vault.currentKid,
          status: 'RUNNING',
          total: Number(row?.n ?? 0),
          startedBy: actor.subject,
        });
        this.#audit.record(em, actor, {
          action: 'master_key.rotation_start',
          targetType: 'MasterKeyRotation',
          targetId: rotation.id,
          details: { targetKid: rotation.targetKid, secrets: rotation.total },
        });
        await em.flush();
      }
      // Also when joining a running rotation: one stuck in the dead-letter queue starts again.
      await this.#jobs.send(MASTER_KEY_ROTATION_QUEUE, {}, { em });
      return rotation;
    });
  }

  /** Start-up: a rotation left RUNNING (its replicas stopped or crashed) gets a job again. */
  async resume(): Promise<boolean> {
    const running = await this.#orm.em.fork().count(MasterKeyRotationEntity, { status: 'RUNNING' });
    if (running > 0) await this.#jobs.send(MASTER_KEY_ROTATION_QUEUE, {});
    return running > 0;
  }

  /** Lets the current batch commit, then stops; the rotation stays RUNNING and its job retries. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#running?.catch(() => undefined);
  }

  /** The job: one runner per process (jobs arriving meanwhile join it); throws to be retried. */
  async #runOnce(logger: Logger): Promise<void> {
    if (this.#stopping) throw new Error('shutting down; the rotation resumes on another run');
    this.#running ??= this.#run(logger).finally(() => {
      this.#running = undefined;
    });
    const rotation = await this.#running;
    if (rotation?.status === 'RUNNING') {
      throw new Error(rotation.lastError ?? 'interrupted by shutdown; the rotation resumes on the next run');
    }
  }

  async #run(logger: Logger): Promise<MasterKeyRotation | undefined> {
    const em = this.#orm.em.fork();
    const rotation = await em.findOne(MasterKeyRotationEntity, { status: 'RUNNING' });
    if (!rotation) return undefined;
    if (rotation.targetKid !== this.#vault.currentKid) {
      // The configuration changed since the rotation began: carry on towards the new current key.
      rotation.targetKid = this.#vault.currentKid;
      await em.flush();
    }
    logger.info(
      { rotation: rotation.id, target: rotation.targetKid, total: rotation.total },
      'master-key rotation running',
    );
    const skip = new Set<string>();
    try {
      for (;;) {
        if (this.#stopping) return rotation;
        const done = await this.#batch(rotation.id, rotation.targetKid, skip);
        if (done === 0) break;
      }
      await this.#rewrapChannelSecrets(rotation.id, rotation.targetKid);
    } catch (error) {
      await em.refresh(rotation);
      rotation.lastError = (error as Error).message;
      await em.flush();
      logger.error({ err: error, rotation: rotation.id }, 'master-key rotation stopped; its job retries');
      return rotation;
    }
    await em.refresh(rotation);
    if (rotation.status === 'RUNNING') {
      rotation.status = rotation.failed > 0 ? 'FAILED' : 'DONE';
      rotation.finishedAt = new Date();
      this.#audit.record(em, SYSTEM, {
        action: 'master_key.rotation_finish',
        targetType: 'MasterKeyRotation',
        targetId: rotation.id,
        details: { targetKid: rotation.targetKid, processed: rotation.processed, failed: rotation.failed },
      });
      await em.flush();
      logger.info(
        { rotation: rotation.id, processed: rotation.processed, failed: rotation.failed },
        'master-key rotation finished',
      );
    }
    return rotation;
  }

  /** Re-encrypts the webhook signing secrets (few rows: one transaction). */
  async #rewrapChannelSecrets(rotationId: string, targetKid: string): Promise<void> {
    await this.#orm.em.fork().transactional(async (em) => {
      const rows = (await em.execute(
        'select id, secret_ciphertext from alert_channels where secret_kid <> ? for update',
        [targetKid],
      )) as { id: string; secret_ciphertext: string }[];
      let moved = 0;
      let failed = 0;
      for (const row of rows) {
        let secret: string;
        try {
          secret = await this.#vault.decrypt(row.secret_ciphertext, secretBinding(row.id));
        } catch (error) {
          failed++;
          this.#logger.error(
            { channel: row.id, reason: decryptionReason(error) },
            'alert channel secret not re-encrypted',
          );
          continue;
        }
        const { ciphertext, kid } = await this.#vault.encrypt(secret, secretBinding(row.id));
        await em.execute('update alert_channels set secret_ciphertext = ?, secret_kid = ? where id = ?', [
          ciphertext,
          kid,
          row.id,
        ]);
        moved++;
      }
      await em.execute(
        'update master_key_rotations set processed = processed + ?, failed = failed + ?, updated_at = now() where id = ?',
        [moved, failed, rotationId],
      );
    });
  }

  /** Re-encrypts one batch in one transaction; returns how many rows it took. */
  async #batch(rotationId: string, targetKid: string, skip: Set<string>): Promise<number> {
    const failures: { id: string; reason: string }[] = [];
    const taken = await this.#orm.em.fork().transactional(async (em) => {
      const rows = (await em.execute(
        `select id, provider_id, ciphertext from provider_keys
         where kid is not null and kid <> ? and problem is null ${skip.size ? `and id not in (${[...skip].map(() => '?').join(',')})` : ''}
         order by id limit ${BATCH} for update skip locked`,
        [targetKid, ...skip],
      )) as { id: string; provider_id: string; ciphertext: string }[];
      let moved = 0;
      for (const row of rows) {
        const binding = { providerId: row.provider_id, keyId: row.id };
        let secret: string;
        try {
          secret = await this.#vault.decrypt(row.ciphertext, binding);
        } catch (error) {
          failures.push({ id: row.id, reason: decryptionReason(error) });
          skip.add(row.id);
          continue;
        }
        const { ciphertext, kid } = await this.#vault.encrypt(secret, binding);
        await em.execute('update provider_keys set ciphertext = ?, kid = ?, fingerprint = ? where id = ?', [
          ciphertext,
          kid,
          this.#vault.fingerprint(secret),
          row.id,
        ]);
        moved++;
      }
      await em.execute(
        'update master_key_rotations set processed = processed + ?, failed = failed + ?, updated_at = now() where id = ?',
        [moved, failures.length, rotationId],
      );
      return rows.length;
    });
    for (const failure of failures) await this.#keys.recordDecryptFailure(failure.id, failure.reason);
    // No key event: re-encryption leaves every secret as it was, so no key ring needs a reload.
    return taken;
  }
}
