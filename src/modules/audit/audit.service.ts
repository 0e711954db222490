import type { EntityManager } from '@mikro-orm/postgresql';
import type { Orm } from '../../db/orm.ts';
import type { Actor } from '../../shared/actor.ts';
import { keysetQuery, type PageArgs, planPage, toPage } from '../../shared/pagination.ts';
import { type AuditEvent, AuditEventEntity } from './audit.entity.ts';

export interface AuditFilter {
  action?: string | null;
  targetType?: string | null;
  targetId?: string | null;
  actor?: string | null;
  since?: Date | null;
  until?: Date | null;
}

export interface AuditRecord {
  action: string;
  targetType: string;
  targetId: string;
  /** Must never contain a secret; services pass descriptions (fingerprints, last4), not values. */
  details?: Record<string, unknown>;
}

export class AuditService {
  readonly #orm: Orm;
  constructor(orm: Orm) {
    this.#orm = orm;
  }

  /** Queues an audit event in `em`, so it commits (or not) with the change it describes. */
  record(em: EntityManager, actor: Actor, record: AuditRecord): void {
    em.create(AuditEventEntity, {
      actor: actor.subject,
      actorEmail: actor.email ?? null,
      actorRole: actor.role,
      action: record.action,
      targetType: record.targetType,
      targetId: record.targetId,
      requestId: actor.requestId ?? null,
      details: record.details ?? {},
    });
  }

  /** Writes one audit event on its own, for actions that change no row (e.g. tripping a circuit). */
  async recordNow(actor: Actor, record: AuditRecord): Promise<void> {
    const em = this.#orm.em.fork();
    this.record(em, actor, record);
    await em.flush();
  }

  async list(filter: AuditFilter, page: PageArgs) {
    const plan = planPage(page);
    const query = keysetQuery(plan, 'at', 'desc');
    const where: Record<string, unknown> = { ...query.where };
    if (filter.action) where.action = filter.action;
    if (filter.targetType) where.targetType = filter.targetType;
    if (filter.targetId) where.targetId = filter.targetId;
    if (filter.actor) where.actor = filter.actor;
    if (filter.since || filter.until) {
      const range: Record<string, Date> = {};
      if (filter.since) range.$gte = filter.since;
      if (filter.until) range.$lt = filter.until;
      where.$and = [{ at: range }];
    }
    const rows = await this.#orm.em.fork().find(AuditEventEntity, where, {
      orderBy: query.orderBy,
      limit: query.limit,
    });
    return toPage<AuditEvent>(rows, plan, (row) => ({ at: row.at, id: row.id }));
  }
}
