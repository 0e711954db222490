import { type GraphQLSchema, lexicographicSortSchema, printSchema } from 'graphql';
import { builder } from './builder.ts';
import './errors.ts';
import '../modules/auth/viewer.schema.ts';
import '../modules/audit/audit.schema.ts';
import '../modules/providers/provider.schema.ts';
import '../modules/keys/provider-key.schema.ts';
import '../modules/clients/client.schema.ts';
import '../modules/resilience/circuit.schema.ts';
import '../modules/proxy/proxy-state.schema.ts';
import '../modules/budgets/budget.schema.ts';
import '../modules/usage/usage.schema.ts';
import '../modules/health/health.schema.ts';
import '../modules/events/gateway-events.schema.ts';
import '../modules/alerts/alert-channel.schema.ts';
import '../modules/jobs/jobs.schema.ts';
import '../modules/config-io/config.schema.ts';
import '../modules/sessions/session.schema.ts';

let schema: GraphQLSchema | undefined;

/** The executable schema, built once from every module's *.schema.ts. */
export function getSchema(): GraphQLSchema {
  schema ??= builder.toSchema();
  return schema;
}

/** The schema as committed in schema.graphql: sorted, so diffs show real changes only. */
export function printSortedSchema(): string {
  return `${printSchema(lexicographicSortSchema(getSchema()))}\n`;
}
