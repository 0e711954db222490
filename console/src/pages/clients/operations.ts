import { graphql } from '../../gql/index.ts';

/** Every GraphQL operation of the Clients pages. */

export const ClientFieldsFragment = graphql(`
  fragment ConsoleClientFields on Client {
    id
    name
    status
    keyPrefix
    keyRotatedAt
    expiresAt
    createdAt
    createdBy
    updatedAt
    version
    rateLimit { points periodMs }
    allowedProviders { id slug name enabled }
  }
`);

export const ClientListQuery = graphql(`
  query ConsoleClientList($filter: ClientFilter, $first: Int!) {
    clients(filter: $filter, first: $first) {
      totalCount
      edges { node { ...ConsoleClientFields } }
      pageInfo { hasNextPage }
    }
  }
`);

export const ClientDetailQuery = graphql(`
  query ConsoleClientDetail($id: ID!) {
    client(id: $id) { ...ConsoleClientFields }
  }
`);

/** Separate from the client: one query for all of it is over the API's cost limit. */
export const ClientUsageQuery = graphql(`
  query ConsoleClientUsage($id: ID!, $range: UsageRange!) {
    usage(filter: { clients: [$id] }, groupBy: [CLIENT], range: $range) {
      __typename
      ... on UsageReport {
        bucket
        totals { calls failures errorRate costMicros latencyMs { p50 p95 p99 } }
        groups {
          series { start summary { calls failures costMicros latencyMs { p95 } } }
        }
      }
      ... on ValidationError { message }
    }
    byProvider: usage(filter: { clients: [$id] }, groupBy: [PROVIDER], range: $range) {
      __typename
      ... on UsageReport {
        groups {
          providerId
          provider { id slug name }
          summary { calls failures errorRate costMicros latencyMs { p95 } }
        }
      }
    }
  }
`);

export const ClientBudgetsQuery = graphql(`
  query ConsoleClientBudgets($id: ID!) {
    budgets(filter: { client: $id }, first: 25) {
      edges {
        node {
          id
          name
          scope
          period
          action
          limitMicros
          spentMicros
          reservedMicros
          remainingMicros
          percentUsed
          periodEnd
          provider { slug }
        }
      }
    }
  }
`);

export const CreateClientMutation = graphql(`
  mutation ConsoleCreateClient($input: CreateClientInput!) {
    createClient(input: $input) {
      __typename
      ... on ClientKeyPayload { key client { ...ConsoleClientFields } }
      ... on ValidationError { message fieldErrors { path message } }
    }
  }
`);

export const RotateClientKeyMutation = graphql(`
  mutation ConsoleRotateClientKey($id: ID!) {
    rotateClientKey(id: $id) {
      __typename
      ... on ClientKeyPayload { key client { ...ConsoleClientFields } }
      ... on ConflictError { message }
      ... on NotFoundError { message }
    }
  }
`);

export const RevokeClientMutation = graphql(`
  mutation ConsoleRevokeClient($id: ID!) {
    revokeClient(id: $id) {
      __typename
      ... on ClientPayload { client { ...ConsoleClientFields } }
      ... on ConflictError { message }
      ... on NotFoundError { message }
    }
  }
`);

export const UpdateClientMutation = graphql(`
  mutation ConsoleUpdateClient($input: UpdateClientInput!) {
    updateClient(input: $input) {
      __typename
      ... on ClientPayload { client { ...ConsoleClientFields } }
      ... on ValidationError { message fieldErrors { path message } }
      ... on VersionMismatchError { message currentVersion }
      ... on ConflictError { message }
      ... on NotFoundError { message }
    }
  }
`);
