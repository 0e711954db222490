import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../shared/errors.ts';
import { maskError } from './errors.ts';

const wrap = (original: Error) =>
  new GraphQLError(original.message, { originalError: original, path: ['x'] });

describe('maskError', () => {
  it('reports an unreachable database as SERVICE_UNAVAILABLE, without the address or the stack', () => {
    // What MikroORM throws while PostgreSQL is down: its DriverException around pg's socket error.
    const socket = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const driver = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { cause: socket });
    const shuttingDown = Object.assign(new Error('terminating connection due to administrator command'), {
      code: '57P01',
    });
    for (const original of [socket, driver, shuttingDown, new Error('Connection terminated unexpectedly')]) {
      const masked = maskError(wrap(original)) as GraphQLError;
      expect(masked.extensions.code).toBe('SERVICE_UNAVAILABLE');
      expect(masked.message).toBe('The database is unavailable; try again shortly.');
      expect(JSON.stringify(masked.toJSON())).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|stack/);
    }
  });

  it('still masks other errors as unexpected, and keeps AppErrors as they are', () => {
    expect((maskError(wrap(new TypeError('x is undefined'))) as GraphQLError).extensions.code).toBe(
      'INTERNAL_SERVER_ERROR',
    );
    expect((maskError(wrap(new NotFoundError('Provider', 'p'))) as GraphQLError).extensions.code).toBe(
      'NOT_FOUND',
    );
  });
});
