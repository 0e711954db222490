import { graphql } from '../../gql/index.ts';

/** Every GraphQL operation of the Providers pages. */

export const ProviderListQuery = graphql(`
  query ConsoleProviderList($filter: ProviderFilter, $first: Int!, $after: String) {
    providers(filter: $filter, first: $first, after: $after) {
      totalCount
      edges {
        node {
          id
          slug
          name
          kind
          baseUrl
          enabled
          keySource
          updatedAt
          health { status reason }
          circuit { state reason }
          keys { id status }
          fallbacks { id slug }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

export const ProviderSettingsFragment = graphql(`
  fragment ConsoleProviderSettings on Provider {
    id
    slug
    name
    kind
    baseUrl
    enabled
    allowPrivateNetwork
    timeoutMs
    keyPattern
    version
    updatedAt
    auth { style name }
    fallbacks { id slug name }
    rateLimit { points periodMs burst mode maxQueueSize maxQueueWaitMs }
    retry { maxAttempts baseDelayMs maxDelayMs budgetPercent retryNonIdempotent }
    breaker { failureThreshold halfOpenAfterMs successThreshold }
    healthCheck { enabled method path expectedStatus intervalMs timeoutMs }
    pricing {
      currency
      perRequestMicros
      estimateMicros
      models { model inputPerMillionMicros outputPerMillionMicros cachedInputPerMillionMicros }
    }
    degradedMode { staleOnError staleTtlMs staticStatus staticContentType staticBody }
  }
`);

export const ProviderDetailQuery = graphql(`
  query ConsoleProviderDetail($slug: String!) {
    provider(slug: $slug) {
      ...ConsoleProviderSettings
      keySource
      createdAt
      circuit { state reason failures since nextProbeAt }
      health {
        status
        reason
        changedAt
        lastCheckAt
        lastLatencyMs
        lastError
        consecutiveFailures
        uptime(range: LAST_DAY) { availabilityPercent }
        history(last: 15) { at from to reason }
        probes(last: 10) { at ok status latencyMs error source }
      }
      keys {
        id
        label
        last4
        fingerprint
        status
        weight
        expiresAt
        graceUntil
        lastUsedAt
        problem
        createdAt
        createdBy
      }
    }
  }
`);

export const ProviderCallsQuery = graphql(`
  query ConsoleProviderCalls($slug: String!, $last: Int!) {
    provider(slug: $slug) {
      id
      recentCalls(last: $last) {
        id
        at
        method
        path
        status
        outcome
        totalMs
        upstreamMs
        attempts
        clientId
        keyId
        model
        costMicros
        fallback
        requestId
      }
    }
  }
`);

export const ProviderUsageQuery = graphql(`
  query ConsoleProviderUsage($slug: String!, $range: UsageRange!) {
    usage(filter: { providers: [$slug] }, groupBy: [PROVIDER], range: $range) {
      __typename
      ... on UsageReport {
        bucket
        from
        to
        totals { calls failures errorRate costMicros latencyMs { p50 p95 p99 } }
        groups {
          series {
            start
            summary { calls failures costMicros latencyMs { p95 } }
          }
        }
      }
      ... on ValidationError { message }
    }
  }
`);

export const ProviderOptionsQuery = graphql(`
  query ConsoleProviderOptions {
    providers(first: 100) {
      edges { node { id slug name } }
    }
  }
`);

export const CreateProviderMutation = graphql(`
  mutation ConsoleCreateProvider($input: CreateProviderInput!) {
    createProvider(input: $input) {
      __typename
      ... on ProviderPayload { provider { ...ConsoleProviderSettings } }
      ... on ValidationError { message fieldErrors { path message } }
      ... on ConflictError { message }
    }
  }
`);

export const UpdateProviderMutation = graphql(`
  mutation ConsoleUpdateProvider($input: UpdateProviderInput!) {
    updateProvider(input: $input) {
      __typename
      ... on ProviderPayload { provider { ...ConsoleProviderSettings } }
      ... on ValidationError { message fieldErrors { path message } }
      ... on VersionMismatchError { message currentVersion }
      ... on ConflictError { message }
      ... on NotFoundError { message }
    }
  }
`);

export const SetProviderEnabledMutation = graphql(`
  mutation ConsoleSetProviderEnabled($slug: String!, $enabled: Boolean!, $version: Int) {
    setProviderEnabled(slug: $slug, enabled: $enabled, version: $version) {
      __typename
      ... on ProviderPayload { provider { id enabled version updatedAt } }
      ... on VersionMismatchError { message currentVersion }
      ... on ConflictError { message }
      ... on NotFoundError { message }
    }
  }
`);

export const TestProviderMutation = graphql(`
  mutation ConsoleTestProvider($slug: String!) {
    testProvider(slug: $slug) {
      __typename
      ... on TestProviderPayload {
        result { at ok status latencyMs error skipped }
      }
      ... on NotFoundError { message }
    }
  }
`);

export const TripCircuitMutation = graphql(`
  mutation ConsoleTripCircuit($provider: String!, $reason: String) {
    tripCircuit(provider: $provider, reason: $reason) {
      __typename
      ... on CircuitPayload { circuit { state reason } }
      ... on NotFoundError { message }
    }
  }
`);

export const ResetCircuitMutation = graphql(`
  mutation ConsoleResetCircuit($provider: String!) {
    resetCircuit(provider: $provider) {
      __typename
      ... on CircuitPayload { circuit { state reason } }
      ... on NotFoundError { message }
    }
  }
`);

export const ProviderKeyFragment = graphql(`
  fragment ConsoleProviderKey on ProviderKey {
    id
    label
    last4
    fingerprint
    status
    weight
    expiresAt
    graceUntil
    lastUsedAt
    problem
    createdAt
    createdBy
  }
`);

export const AddKeyMutation = graphql(`
  mutation ConsoleAddProviderKey($input: AddProviderKeyInput!) {
    addProviderKey(input: $input) {
      __typename
      ... on ProviderKeyPayload { key { ...ConsoleProviderKey } }
      ... on ValidationError { message fieldErrors { path message } }
      ... on NotFoundError { message }
    }
  }
`);

export const RotateKeyMutation = graphql(`
  mutation ConsoleRotateProviderKey($input: RotateProviderKeyInput!) {
    rotateProviderKey(input: $input) {
      __typename
      ... on RotateProviderKeyPayload {
        newKey { ...ConsoleProviderKey }
        oldKey { ...ConsoleProviderKey }
      }
      ... on ValidationError { message fieldErrors { path message } }
      ... on ConflictError { message }
      ... on NotFoundError { message }
    }
  }
`);

export const UpdateKeyMutation = graphql(`
  mutation ConsoleUpdateProviderKey($input: UpdateProviderKeyInput!) {
    updateProviderKey(input: $input) {
      __typename
      ... on ProviderKeyPayload { key { ...ConsoleProviderKey } }
      ... on ValidationError { message fieldErrors { path message } }
      ... on ConflictError { message }
      ... on NotFoundError { message }
    }
  }
`);

export const RevokeKeyMutation = graphql(`
  mutation ConsoleRevokeProviderKey($keyId: ID!) {
    revokeProviderKey(keyId: $keyId) {
      __typename
      ... on ProviderKeyPayload { key { ...ConsoleProviderKey } }
      ... on ConflictError { message }
      ... on NotFoundError { message }
    }
  }
`);

export const CircuitChangedSubscription = graphql(`
  subscription ConsoleProviderCircuit($provider: String!) {
    circuitStateChanged(provider: $provider) { id at from to reason failures }
  }
`);

export const HealthChangedSubscription = graphql(`
  subscription ConsoleProviderHealth($provider: String!) {
    providerHealthChanged(provider: $provider) { id at from to reason }
  }
`);

export const KeyEventSubscription = graphql(`
  subscription ConsoleProviderKeyEvents($provider: String!) {
    keyEvent(provider: $provider) { id at keyId change actor detail }
  }
`);
