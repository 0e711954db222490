import { graphql } from './generated/index.ts';

/** The operations the integration tests run, typed by codegen from schema.graphql. */

export const ProviderFields = graphql(`
  fragment ProviderFields on Provider {
    id
    slug
    name
    kind
    baseUrl
    enabled
    auth { style name }
    timeoutMs
    retry { maxAttempts baseDelayMs maxDelayMs retryNonIdempotent budgetPercent }
    breaker { failureThreshold halfOpenAfterMs successThreshold }
    rateLimit { points periodMs burst mode maxQueueWaitMs maxQueueSize }
    healthCheck { enabled path method expectedStatus intervalMs timeoutMs }
    pricing { currency perRequestMicros estimateMicros models { model inputPerMillionMicros outputPerMillionMicros cachedInputPerMillionMicros } }
    fallbacks { slug }
    allowPrivateNetwork
    version
    createdAt
    updatedAt
  }
`);

export const CreateProvider = graphql(`
  mutation CreateProvider($input: CreateProviderInput!) {
    createProvider(input: $input) {
      __typename
      ... on ProviderPayload { provider { ...ProviderFields } }
      ... on ValidationError { code message fieldErrors { path message } }
      ... on ConflictError { code message }
    }
  }
`);

export const ProviderBulkhead = graphql(`
  query ProviderBulkhead($slug: String!) {
    provider(slug: $slug) { version bulkhead { maxConcurrent maxQueue maxQueueWaitMs } }
  }
`);

export const ProviderReplicaState = graphql(`
  query ProviderReplicaState($slug: String!) {
    provider(slug: $slug) { replicaState { inFlight queued retryTokens lastFailureAt lastFailureReason } }
  }
`);

export const UpdateProvider = graphql(`
  mutation UpdateProvider($input: UpdateProviderInput!) {
    updateProvider(input: $input) {
      __typename
      ... on ProviderPayload { provider { ...ProviderFields } }
      ... on ValidationError { code message fieldErrors { path message } }
      ... on NotFoundError { code message }
      ... on VersionMismatchError { code message currentVersion }
      ... on ConflictError { code message }
    }
  }
`);

export const SetProviderEnabled = graphql(`
  mutation SetProviderEnabled($slug: String!, $enabled: Boolean!, $version: Int) {
    setProviderEnabled(slug: $slug, enabled: $enabled, version: $version) {
      __typename
      ... on ProviderPayload { provider { slug enabled version } }
      ... on NotFoundError { code message }
      ... on VersionMismatchError { code currentVersion }
    }
  }
`);

export const DeleteProvider = graphql(`
  mutation DeleteProvider($slug: String!, $version: Int) {
    deleteProvider(slug: $slug, version: $version) {
      __typename
      ... on DeleteProviderPayload { deletedId slug }
      ... on NotFoundError { code message }
      ... on ConflictError { code message }
      ... on VersionMismatchError { code currentVersion }
    }
  }
`);

export const GetProvider = graphql(`
  query GetProvider($slug: String!) {
    provider(slug: $slug) { ...ProviderFields }
  }
`);

export const ListProviders = graphql(`
  query ListProviders($first: Int, $after: String, $last: Int, $before: String, $filter: ProviderFilter) {
    providers(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
      edges { cursor node { slug kind enabled } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`);

export const NodeById = graphql(`
  query NodeById($id: ID!) {
    node(id: $id) { __typename ... on Provider { slug } }
  }
`);

export const Viewer = graphql(`
  query Viewer { viewer { subject role tokenExpiresAt } }
`);

export const AuditLog = graphql(`
  query AuditLog($first: Int, $filter: AuditFilter) {
    auditLog(first: $first, filter: $filter) {
      edges { node { action actor actorRole targetType targetId requestId at details } }
    }
  }
`);

export const AuditLogWithoutDetails = graphql(`
  query AuditLogWithoutDetails($filter: AuditFilter) {
    auditLog(first: 50, filter: $filter) {
      edges { node { action actor targetId } }
    }
  }
`);

export const ProviderChanged = graphql(`
  subscription ProviderChanged($slug: String) {
    providerChanged(slug: $slug) { change slug actor provider { slug enabled version } }
  }
`);

export const KeyFields = graphql(`
  fragment KeyFields on ProviderKey {
    id label status weight last4 fingerprint masterKeyId graceUntil expiresAt problem createdBy
  }
`);

export const AddProviderKey = graphql(`
  mutation AddProviderKey($input: AddProviderKeyInput!) {
    addProviderKey(input: $input) {
      __typename
      ... on ProviderKeyPayload { key { ...KeyFields } }
      ... on ValidationError { code fieldErrors { path message } }
      ... on NotFoundError { code message }
    }
  }
`);

export const RotateProviderKey = graphql(`
  mutation RotateProviderKey($input: RotateProviderKeyInput!) {
    rotateProviderKey(input: $input) {
      __typename
      ... on RotateProviderKeyPayload { newKey { ...KeyFields } oldKey { ...KeyFields } }
      ... on ValidationError { code fieldErrors { path message } }
      ... on NotFoundError { code message }
      ... on ConflictError { code message }
    }
  }
`);

export const RevokeProviderKey = graphql(`
  mutation RevokeProviderKey($keyId: ID!) {
    revokeProviderKey(keyId: $keyId) {
      __typename
      ... on ProviderKeyPayload { key { ...KeyFields } }
      ... on NotFoundError { code message }
      ... on ConflictError { code message }
    }
  }
`);

export const UpdateProviderKey = graphql(`
  mutation UpdateProviderKey($input: UpdateProviderKeyInput!) {
    updateProviderKey(input: $input) {
      __typename
      ... on ProviderKeyPayload { key { ...KeyFields } }
      ... on ValidationError { code fieldErrors { path message } }
      ... on NotFoundError { code message }
      ... on ConflictError { code message }
    }
  }
`);

export const ProviderKeys = graphql(`
  query ProviderKeys($slug: String!) {
    provider(slug: $slug) { slug keySource keys { ...KeyFields } }
  }
`);

export const MasterKeys = graphql(`
  query MasterKeys {
    masterKeys {
      currentKid
      usage { kid secrets configured current }
      rotation { id targetKid status total processed failed lastError finishedAt }
    }
  }
`);

export const RotateMasterKey = graphql(`
  mutation RotateMasterKey {
    rotateMasterKey { id targetKid status total processed }
  }
`);

export const CreateClient = graphql(`
  mutation CreateClient($input: CreateClientInput!) {
    createClient(input: $input) {
      __typename
      ... on ClientKeyPayload { key client { id name status keyPrefix allowedProviders { slug } } }
      ... on ValidationError { code fieldErrors { path message } }
    }
  }
`);

export const RotateClientKey = graphql(`
  mutation RotateClientKey($id: ID!) {
    rotateClientKey(id: $id) {
      __typename
      ... on ClientKeyPayload { key client { id keyPrefix } }
      ... on NotFoundError { code }
      ... on ConflictError { code message }
    }
  }
`);

export const RevokeClient = graphql(`
  mutation RevokeClient($id: ID!) {
    revokeClient(id: $id) {
      __typename
      ... on ClientPayload { client { id status } }
      ... on NotFoundError { code }
      ... on ConflictError { code message }
    }
  }
`);

export const GetClient = graphql(`
  query GetClient($id: ID!) {
    client(id: $id) { id name status keyPrefix keyRotatedAt }
  }
`);

export const ProviderCircuit = graphql(`
  query ProviderCircuit($slug: String!) {
    provider(slug: $slug) {
      circuit { state failures reason nextProbeAt }
      recentCalls(last: 50) { status outcome attempts fallback promptTokens completionTokens model keyId clientId costMicros pricedWithoutTokens }
    }
  }
`);

export const TripCircuit = graphql(`
  mutation TripCircuit($provider: String!, $reason: String) {
    tripCircuit(provider: $provider, reason: $reason) {
      __typename
      ... on CircuitPayload { provider circuit { state reason } }
      ... on NotFoundError { code }
    }
  }
`);

export const ResetCircuit = graphql(`
  mutation ResetCircuit($provider: String!) {
    resetCircuit(provider: $provider) {
      __typename
      ... on CircuitPayload { provider circuit { state } }
      ... on NotFoundError { code }
    }
  }
`);

export const BudgetFields = graphql(`
  fragment BudgetFields on Budget {
    id
    name
    scope
    provider { slug }
    client { id }
    period
    timeZone
    limitMicros
    thresholds
    action
    periodStart
    periodEnd
    spentMicros
    reservedMicros
    remainingMicros
    percentUsed
    projectedSpendMicros
    version
  }
`);

export const CreateBudget = graphql(`
  mutation CreateBudget($input: CreateBudgetInput!) {
    createBudget(input: $input) {
      __typename
      ... on BudgetPayload { budget { ...BudgetFields } }
      ... on ValidationError { code message fieldErrors { path message } }
    }
  }
`);

export const UpdateBudget = graphql(`
  mutation UpdateBudget($input: UpdateBudgetInput!) {
    updateBudget(input: $input) {
      __typename
      ... on BudgetPayload { budget { ...BudgetFields } }
      ... on ValidationError { code fieldErrors { path message } }
      ... on NotFoundError { code }
      ... on VersionMismatchError { code currentVersion }
    }
  }
`);

export const DeleteBudget = graphql(`
  mutation DeleteBudget($id: ID!, $version: Int) {
    deleteBudget(id: $id, version: $version) {
      __typename
      ... on BudgetPayload { budget { id name } }
      ... on NotFoundError { code }
      ... on VersionMismatchError { code currentVersion }
    }
  }
`);

export const GetBudget = graphql(`
  query GetBudget($id: ID!) {
    budget(id: $id) { ...BudgetFields }
  }
`);

export const ListBudgets = graphql(`
  query ListBudgets($filter: BudgetFilter, $first: Int) {
    budgets(filter: $filter, first: $first) { edges { node { id name scope } } }
  }
`);

export const ProviderBudgets = graphql(`
  query ProviderBudgets($slug: String!) {
    provider(slug: $slug) { budgets { name spentMicros } }
  }
`);

export const BudgetAlerts = graphql(`
  subscription BudgetAlerts($budget: ID) {
    budgetAlert(budget: $budget) { budgetId budgetName threshold percentUsed spentMicros limitMicros action periodStart periodEnd }
  }
`);

export const SummaryFields = graphql(`
  fragment SummaryFields on UsageSummary {
    calls
    successes
    failures
    failuresByOutcome { outcome calls }
    errorRate
    latencyMs { p50 p95 p99 mean }
    upstreamLatencyMs { p50 p95 p99 }
    promptTokens
    completionTokens
    cachedTokens
    costMicros
    pricedWithoutTokens
  }
`);

export const UsageReportQuery = graphql(`
  query UsageReport($range: UsageRange, $from: DateTime, $to: DateTime, $groupBy: [UsageDimension!], $filter: UsageFilter) {
    usage(range: $range, from: $from, to: $to, groupBy: $groupBy, filter: $filter) {
      __typename
      ... on UsageReport {
        from
        to
        bucket
        rolledUpHours
        totals { ...SummaryFields }
        groups {
          providerId
          provider { slug }
          clientId
          keyId
          model
          outcome
          summary { ...SummaryFields }
          series { start summary { calls costMicros } }
        }
      }
      ... on ValidationError { code fieldErrors { path message } }
    }
  }
`);

export const ProviderUsage = graphql(`
  query ProviderUsage($slug: String!, $range: UsageRange) {
    provider(slug: $slug) { usage(range: $range) { ...SummaryFields } }
  }
`);

export const ProviderHealthQuery = graphql(`
  query ProviderHealth($slug: String!) {
    provider(slug: $slug) {
      health {
        status
        reason
        consecutiveFailures
        lastError
        lastCheckAt
        lastLatencyMs
        history(last: 10) { from to reason at }
        probes(last: 50) { ok status source }
        uptime(range: LAST_HOUR) { availabilityPercent healthyMs downMs unknownMs }
      }
    }
  }
`);

export const TestProvider = graphql(`
  mutation TestProvider($slug: String!) {
    testProvider(slug: $slug) {
      __typename
      ... on TestProviderPayload { result { ok status latencyMs error skipped } health { status reason } }
      ... on NotFoundError { code }
    }
  }
`);

export const HealthChanges = graphql(`
  subscription HealthChanges($provider: String) {
    providerHealthChanged(provider: $provider) { provider from to reason at }
  }
`);

export const GatewayEvents = graphql(`
  subscription GatewayEvents($kinds: [GatewayEventKind!], $since: ID) {
    gatewayEvents(kinds: $kinds, since: $since) {
      __typename
      ... on CircuitStateEvent { id provider to reason }
      ... on ProviderHealthEvent { id provider status: to }
      ... on BudgetAlertEvent { id budgetName threshold }
      ... on KeyEvent { id change }
    }
  }
`);

export const CircuitChanges = graphql(`
  subscription CircuitChanges($provider: String) {
    circuitStateChanged(provider: $provider) { provider to reason }
  }
`);

export const CreateAlertChannel = graphql(`
  mutation CreateAlertChannel($input: CreateAlertChannelInput!) {
    createAlertChannel(input: $input) {
      __typename
      ... on AlertChannelCreatedPayload { secret channel { id name url kinds enabled } }
      ... on ValidationError { fieldErrors { path message } }
    }
  }
`);

export const JobQueues = graphql(`
  query JobQueues {
    jobQueues { name deadLetter counts { created retry active completed failed } finishedLastHour failureRateLastHour history(hours: 2) { hour completed failed failureRate } }
  }
`);

export const Jobs = graphql(`
  query Jobs($queue: String!, $state: JobState) {
    jobs(queue: $queue, state: $state) { id queue state attempts retryLimit lastError createdOn completedOn }
  }
`);

export const RetryJob = graphql(`
  mutation RetryJob($queue: String!, $id: ID!) {
    retryJob(queue: $queue, id: $id) { __typename ... on JobCountPayload { count } ... on ValidationError { fieldErrors { path message } } }
  }
`);

export const RedriveDeadLetters = graphql(`
  mutation RedriveDeadLetters($queue: String!, $limit: Int) {
    redriveDeadLetters(queue: $queue, limit: $limit) { __typename ... on JobCountPayload { count } ... on ValidationError { fieldErrors { path message } } }
  }
`);

export const ExportConfig = graphql(`
  query ExportConfig {
    exportConfig
  }
`);

export const ImportConfig = graphql(`
  mutation ImportConfig($document: String!, $dryRun: Boolean, $prune: Boolean) {
    importConfig(document: $document, dryRun: $dryRun, prune: $prune) {
      __typename
      ... on ImportConfigPayload {
        applied
        plan { section key action fields }
        clientKeys { name value }
        channelSecrets { name value }
      }
      ... on ValidationError { fieldErrors { path message } }
    }
  }
`);
