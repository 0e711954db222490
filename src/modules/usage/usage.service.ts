import type { Orm } from '../../db/orm.ts';
import { type UsageEvent, UsageEventEntity } from './usage-event.entity.ts';

/** Reads over the written usage events (reports arrive with the budgets issue). */
export class UsageService {
  readonly #orm: Orm;
  constructor(orm: Orm) {
    this.#orm = orm;
  }

  async recentCalls(providerId: string, last: number): Promise<UsageEvent[]> {
    const limit = Math.min(Math.max(last, 1), 200);
    return this.#orm.em.fork().find(UsageEventEntity, { providerId }, { orderBy: { at: 'desc' }, limit });
  }
}
