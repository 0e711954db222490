import { readFileSync } from 'node:fs';
import { buildSchema, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';

/**
 * Every GraphQL example in the README is valid against the schema: a user pastes them into
 * GraphiQL as they are, and one that fails validation (two fields of one name and different
 * types, a renamed argument) is a broken promise the type checker cannot see.
 */
const schema = buildSchema(readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8'));
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const examples = [...readme.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1] as string);

describe('README GraphQL examples', () => {
  it('has examples to check', () => {
    expect(examples.length).toBeGreaterThan(5);
  });

  it.each(examples.map((example, i) => [i + 1, example] as const))(
    'example %i is valid against the schema',
    (_n, example) => {
      const errors = validate(schema, parse(example)).map((e) => e.message);
      expect(errors).toEqual([]);
    },
  );
});
