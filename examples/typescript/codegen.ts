import type { CodegenConfig } from '@graphql-codegen/cli';

// Types for every operation in src/, from the repository's schema.graphql (the schema the
// server serves; a test in tests/api keeps the two equal), or from a running server's
// introspection with POSKO_SCHEMA=http://127.0.0.1:8080/graphql. CI generates both ways and
// expects the same files.
const config: CodegenConfig = {
  schema: process.env.POSKO_SCHEMA ?? '../../schema.graphql',
  documents: ['src/**/*.ts', '!src/gql/**/*'],
  ignoreNoDocuments: false,
  generates: {
    './src/gql/': {
      preset: 'client',
      config: {
        // Node's ES modules need the `.js` on relative imports.
        emitLegacyCommonJSImports: false,
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', NaiveDate: 'string' },
      },
      presetConfig: { fragmentMasking: false },
    },
  },
};

export default config;
