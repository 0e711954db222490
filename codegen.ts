import type { CodegenConfig } from '@graphql-codegen/cli';

const scalars = { DateTime: 'string', Micros: 'number', JSON: 'unknown', ID: 'string' };

/**
 * Typed documents, from schema.graphql: every `graphql(...)` call under test/ (integration tests)
 * and under console/src/ (the operator console) gets its result and variables types. Resolver
 * types are not generated: Pothos already types the resolvers.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  ignoreNoDocuments: false,
  importExtension: '.ts',
  generates: {
    'test/generated/': {
      documents: ['test/**/*.ts', '!test/generated/**'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { scalars, enumsAsTypes: true, useTypeImports: true },
    },
    'console/src/gql/': {
      documents: ['console/src/**/*.{ts,tsx}', '!console/src/gql/**'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { scalars, enumsAsTypes: true, useTypeImports: true },
    },
  },
};

export default config;
