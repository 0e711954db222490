import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { GraphQLError, Kind } from 'graphql';
import type { Context } from '../context.ts';
import { roleAtLeast } from '../modules/auth/token.service.ts';
import TextInputPlugin from './text-input-plugin.ts';

const ucfirst = (s: string) => `${s.charAt(0).toUpperCase()}${s.slice(1)}`;

/**
 * The builder, its plugins and scalars; no object types here (each module's *.schema.ts
 * defines its own). scope-auth comes first so authorisation wraps everything else.
 */
export const builder = new SchemaBuilder<{
  Context: Context;
  DefaultFieldNullability: false;
  DefaultEdgesNullability: { list: false; items: false };
  DefaultNodeNullability: false;
  AuthScopes: { viewer: boolean; operator: boolean; admin: boolean };
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    Micros: { Input: number; Output: number };
    JSON: { Input: unknown; Output: unknown };
    ID: { Input: string; Output: string };
  };
}>({
  // TextInput comes after Errors, so the ValidationError it throws lands in a mutation's result union.
  plugins: [ScopeAuthPlugin, ErrorsPlugin, RelayPlugin, DataloaderPlugin, TextInputPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (ctx) => ({
      viewer: ctx.operator !== null,
      operator: ctx.operator !== null && roleAtLeast(ctx.operator.role, 'operator'),
      admin: ctx.operator !== null && roleAtLeast(ctx.operator.role, 'admin'),
    }),
    unauthorizedError: (_parent, ctx) =>
      ctx.operator
        ? new GraphQLError('Your role does not allow this operation.', { extensions: { code: 'FORBIDDEN' } })
        : new GraphQLError('Authentication required: send a valid bearer token.', {
            extensions: { code: 'UNAUTHENTICATED' },
          }),
  },
  errors: {
    defaultUnionOptions: { name: ({ fieldName }) => `${ucfirst(fieldName)}Result` },
    defaultResultOptions: { name: ({ fieldName }) => `${ucfirst(fieldName)}Success` },
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    nodesQueryOptions: false,
    edgesFieldOptions: { nullable: { list: false, items: false } },
    nodeFieldOptions: { nullable: false },
  },
});

builder.scalarType('DateTime', {
  description: 'An instant, as an ISO 8601 string in UTC.',
  serialize: (value) => value.toISOString(),
  parseValue: (value) => {
    const date = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
    if (Number.isNaN(date.getTime())) throw new GraphQLError('DateTime must be an ISO 8601 string.');
    return date;
  },
  parseLiteral: (ast) => {
    const date = ast.kind === Kind.STRING ? new Date(ast.value) : new Date(Number.NaN);
    if (Number.isNaN(date.getTime())) throw new GraphQLError('DateTime must be an ISO 8601 string.');
    return date;
  },
});

// Only the type is checked here; ranges (e.g. not negative) are checked by the services' zod
// schemas, so they come back as field-level validation errors like every other rule.
function toMicros(value: unknown): number {
  const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) {
    throw new GraphQLError('Micros must be a whole number of micro-units (1 USD = 1000000).');
  }
  return n;
}

builder.scalarType('Micros', {
  description:
    'Money as a whole number of micro-units of the currency (1 USD = 1000000). Never a float. ' +
    'Accepts a number or a string of digits.',
  serialize: (value) => value,
  parseValue: toMicros,
  parseLiteral: (ast) => toMicros(ast.kind === Kind.INT || ast.kind === Kind.STRING ? ast.value : undefined),
});

builder.scalarType('JSON', {
  description: 'Arbitrary JSON (audit details).',
  serialize: (value) => value,
  parseValue: (value) => value,
});

builder.queryType({ authScopes: { viewer: true } });
builder.mutationType({ authScopes: { admin: true } });
builder.subscriptionType({ authScopes: { viewer: true } });
