import SchemaBuilder from '@pothos/core';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { GraphQLError, Kind } from 'graphql';
import type { Context } from '../context.ts';
import { roleAtLeast } from '../modules/auth/token.service.ts';
import { NotFoundError } from '../shared/errors.ts';
import { isUuid } from '../shared/ids.ts';
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
    decodeGlobalID: (globalID) => decodeNodeId(globalID),
  },
});

/**
 * Global ids (`node(id:)`) are base64 of "Type:uuid". One that is not, or names a type that cannot
 * be loaded by id, is an id of nothing: NOT_FOUND (node answers null), not an error from deep in
 * the relay plugin or the database (which would be masked as unexpected and logged as a bug).
 */
function decodeNodeId(globalID: string): { typename: string; id: string } {
  const notFound = () => new NotFoundError('Node', globalID.slice(0, 100));
  if (globalID.length > 200 || !/^[A-Za-z0-9+/]+={0,2}$/.test(globalID)) throw notFound();
  const [typename = '', id = '', ...rest] = Buffer.from(globalID, 'base64').toString('utf8').split(':');
  if (rest.length > 0 || !isUuid(id) || !isLoadableNode(typename)) throw notFound();
  return { typename, id };
}

function isLoadableNode(typename: string): boolean {
  if (!/^[A-Z_a-z]\w*$/.test(typename) || !builder.configStore.hasConfig(typename)) return false;
  const config = builder.configStore.getTypeConfig(typename);
  if (config.kind !== 'Object') return false;
  const options = config.pothosOptions as Record<string, unknown>;
  return ['loadOne', 'loadMany', 'loadWithoutCache', 'loadManyWithoutCache'].some((k) => k in options);
}

/**
 * An instant from a string. JavaScript dates reach year ±275760 ("+200000-01-01T00:00:00Z"), but
 * ISO 8601 without expanded years, PostgreSQL's timestamps and most clients stop at 9999: a date
 * past that would fail in the database (an unexpected error) instead of here (a validation one).
 */
function toDateTime(value: unknown): Date {
  const date = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) throw new GraphQLError('DateTime must be an ISO 8601 string.');
  const year = date.getUTCFullYear();
  if (year < 1 || year > 9999) {
    throw new GraphQLError('DateTime must be within the years 0001 to 9999.');
  }
  return date;
}

builder.scalarType('DateTime', {
  description: 'An instant, as an ISO 8601 string in UTC (years 0001 to 9999).',
  serialize: (value) => value.toISOString(),
  parseValue: toDateTime,
  parseLiteral: (ast) => toDateTime(ast.kind === Kind.STRING ? ast.value : undefined),
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
