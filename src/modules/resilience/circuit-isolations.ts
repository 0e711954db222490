import type { Orm } from '../../db/orm.ts';
import { type CircuitIsolation, CircuitIsolationEntity } from './circuit-isolation.entity.ts';

/** The operator trips kept in PostgreSQL (see CircuitIsolationEntity). */
export class CircuitIsolations {
  readonly #orm: Orm;

  constructor(orm: Orm) {
    this.#orm = orm;
  }

  list(): Promise<CircuitIsolation[]> {
    return this.#orm.em.fork().find(CircuitIsolationEntity, {});
  }

  async save(isolation: CircuitIsolation): Promise<void> {
    await this.#orm.em.fork().upsert(CircuitIsolationEntity, isolation);
  }

  async remove(providerId: string): Promise<void> {
    await this.#orm.em.fork().nativeDelete(CircuitIsolationEntity, { providerId });
  }
}
