import { type EntityManager, UniqueConstraintViolationException } from '@mikro-orm/postgresql';
import { type FieldError, ValidationError } from '../shared/errors.ts';
import type { Orm } from './orm.ts';

/**
 * Runs `work` in one transaction; a unique-constraint violation (two writers taking the same name
 * at once, past the service's own checks) becomes a field error on `field` instead of a 500.
 */
export async function writeUnique<T>(
  orm: Orm,
  field: FieldError,
  work: (em: EntityManager) => Promise<T>,
): Promise<T> {
  try {
    return await orm.em.fork().transactional(work);
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) throw new ValidationError([field]);
    throw error;
  }
}
