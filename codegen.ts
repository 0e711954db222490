import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for the integration tests: every `graphql(...)` call under test/ gets its
 * result and variables types from schema.graphql. Resolver types are not generated: Pothos
 * already types the resolvers.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['test/**/*.ts', '!test/generated/**'],
  ignoreNoDocuments: false,
  importExtension: '.ts',
  generates: {
    'test/generated/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        scalars: { DateTime: 'string', Micros: 'number', JSON: 'unknown', ID: 'string' },
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
};

export default config;
