import { readFileSync } from 'node:fs';
import { defineEntity, p } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import { describe, expect, it } from 'vitest';
import { entities } from '../src/db/entities.ts';
import { ormConfig } from '../src/db/orm.ts';
import { printSortedSchema } from '../src/graphql/schema.ts';

/** The drift checks that `npm run check` runs, shown to fail when they should. */
describe('drift checks', () => {
  it('schema.graphql is the sorted print of the code', () => {
    expect(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8')).toBe(printSortedSchema());
  });

  async function entitiesDrift(list: unknown[]): Promise<boolean> {
    const orm = await MikroORM.init({
      ...ormConfig('postgres://offline@127.0.0.1:1/none', 1),
      entities: list as never,
    });
    try {
      return await orm.migrator.checkSchema();
    } finally {
      await orm.close(true);
    }
  }

  it('committed migrations match the entities, and a new column would be caught', async () => {
    expect(await entitiesDrift(entities)).toBe(false);
    const Extra = defineEntity({
      name: 'DriftProbe',
      tableName: 'drift_probe',
      properties: { id: p.uuid().primary(), note: p.text() },
    });
    expect(await entitiesDrift([...entities, Extra])).toBe(true);
  });
});
