/* eslint-disable */
import * as types from './graphql.ts';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  query ConsoleViewer {\n    viewer {\n      subject\n      role\n      tokenExpiresAt\n    }\n  }\n": typeof types.ConsoleViewerDocument,
    "\n  subscription ConsoleGatewayEvents($since: ID) {\n    gatewayEvents(since: $since) {\n      __typename\n      ... on ProviderHealthEvent { id at provider healthFrom: from healthTo: to reason }\n      ... on CircuitStateEvent { id at provider circuitFrom: from circuitTo: to reason failures }\n      ... on BudgetAlertEvent { id at budgetId budgetName threshold percentUsed spentMicros limitMicros action }\n      ... on KeyEvent { id at provider keyId change actor detail }\n      ... on JobAlertEvent { id at queue alert message jobId }\n    }\n  }\n": typeof types.ConsoleGatewayEventsDocument,
    "\n  query ConsoleOverview($first: Int!, $today: DateTime!) {\n    providers(first: $first) {\n      edges {\n        node {\n          id\n          slug\n          name\n          kind\n          enabled\n          health {\n            status\n            reason\n            changedAt\n            uptime(range: LAST_DAY) { availabilityPercent }\n          }\n          circuit { state reason since failures }\n          lastHour: usage(range: LAST_HOUR) {\n            calls\n            failures\n            errorRate\n            latencyMs { p95 }\n          }\n          today: usage(from: $today) { costMicros }\n          rateLimit { points periodMs burst }\n          rateLimitHeadroom { limit remaining resetMs }\n        }\n      }\n      pageInfo { hasNextPage }\n    }\n  }\n": typeof types.ConsoleOverviewDocument,
    "\n  subscription ConsoleProviderChanged {\n    providerChanged { id change slug }\n  }\n": typeof types.ConsoleProviderChangedDocument,
};
const documents: Documents = {
    "\n  query ConsoleViewer {\n    viewer {\n      subject\n      role\n      tokenExpiresAt\n    }\n  }\n": types.ConsoleViewerDocument,
    "\n  subscription ConsoleGatewayEvents($since: ID) {\n    gatewayEvents(since: $since) {\n      __typename\n      ... on ProviderHealthEvent { id at provider healthFrom: from healthTo: to reason }\n      ... on CircuitStateEvent { id at provider circuitFrom: from circuitTo: to reason failures }\n      ... on BudgetAlertEvent { id at budgetId budgetName threshold percentUsed spentMicros limitMicros action }\n      ... on KeyEvent { id at provider keyId change actor detail }\n      ... on JobAlertEvent { id at queue alert message jobId }\n    }\n  }\n": types.ConsoleGatewayEventsDocument,
    "\n  query ConsoleOverview($first: Int!, $today: DateTime!) {\n    providers(first: $first) {\n      edges {\n        node {\n          id\n          slug\n          name\n          kind\n          enabled\n          health {\n            status\n            reason\n            changedAt\n            uptime(range: LAST_DAY) { availabilityPercent }\n          }\n          circuit { state reason since failures }\n          lastHour: usage(range: LAST_HOUR) {\n            calls\n            failures\n            errorRate\n            latencyMs { p95 }\n          }\n          today: usage(from: $today) { costMicros }\n          rateLimit { points periodMs burst }\n          rateLimitHeadroom { limit remaining resetMs }\n        }\n      }\n      pageInfo { hasNextPage }\n    }\n  }\n": types.ConsoleOverviewDocument,
    "\n  subscription ConsoleProviderChanged {\n    providerChanged { id change slug }\n  }\n": types.ConsoleProviderChangedDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleViewer {\n    viewer {\n      subject\n      role\n      tokenExpiresAt\n    }\n  }\n"): (typeof documents)["\n  query ConsoleViewer {\n    viewer {\n      subject\n      role\n      tokenExpiresAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ConsoleGatewayEvents($since: ID) {\n    gatewayEvents(since: $since) {\n      __typename\n      ... on ProviderHealthEvent { id at provider healthFrom: from healthTo: to reason }\n      ... on CircuitStateEvent { id at provider circuitFrom: from circuitTo: to reason failures }\n      ... on BudgetAlertEvent { id at budgetId budgetName threshold percentUsed spentMicros limitMicros action }\n      ... on KeyEvent { id at provider keyId change actor detail }\n      ... on JobAlertEvent { id at queue alert message jobId }\n    }\n  }\n"): (typeof documents)["\n  subscription ConsoleGatewayEvents($since: ID) {\n    gatewayEvents(since: $since) {\n      __typename\n      ... on ProviderHealthEvent { id at provider healthFrom: from healthTo: to reason }\n      ... on CircuitStateEvent { id at provider circuitFrom: from circuitTo: to reason failures }\n      ... on BudgetAlertEvent { id at budgetId budgetName threshold percentUsed spentMicros limitMicros action }\n      ... on KeyEvent { id at provider keyId change actor detail }\n      ... on JobAlertEvent { id at queue alert message jobId }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ConsoleOverview($first: Int!, $today: DateTime!) {\n    providers(first: $first) {\n      edges {\n        node {\n          id\n          slug\n          name\n          kind\n          enabled\n          health {\n            status\n            reason\n            changedAt\n            uptime(range: LAST_DAY) { availabilityPercent }\n          }\n          circuit { state reason since failures }\n          lastHour: usage(range: LAST_HOUR) {\n            calls\n            failures\n            errorRate\n            latencyMs { p95 }\n          }\n          today: usage(from: $today) { costMicros }\n          rateLimit { points periodMs burst }\n          rateLimitHeadroom { limit remaining resetMs }\n        }\n      }\n      pageInfo { hasNextPage }\n    }\n  }\n"): (typeof documents)["\n  query ConsoleOverview($first: Int!, $today: DateTime!) {\n    providers(first: $first) {\n      edges {\n        node {\n          id\n          slug\n          name\n          kind\n          enabled\n          health {\n            status\n            reason\n            changedAt\n            uptime(range: LAST_DAY) { availabilityPercent }\n          }\n          circuit { state reason since failures }\n          lastHour: usage(range: LAST_HOUR) {\n            calls\n            failures\n            errorRate\n            latencyMs { p95 }\n          }\n          today: usage(from: $today) { costMicros }\n          rateLimit { points periodMs burst }\n          rateLimitHeadroom { limit remaining resetMs }\n        }\n      }\n      pageInfo { hasNextPage }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ConsoleProviderChanged {\n    providerChanged { id change slug }\n  }\n"): (typeof documents)["\n  subscription ConsoleProviderChanged {\n    providerChanged { id change slug }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;