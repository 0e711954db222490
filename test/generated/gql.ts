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
    "\n  mutation UpdateClient($input: UpdateClientInput!) {\n    updateClient(input: $input) {\n      __typename\n      ... on ClientPayload {\n        client { id name version expiresAt allowedProviders { slug } rateLimit { points periodMs } }\n      }\n      ... on ValidationError { code fieldErrors { path message } }\n      ... on VersionMismatchError { code currentVersion }\n      ... on ConflictError { code message }\n      ... on NotFoundError { code }\n    }\n  }\n": typeof types.UpdateClientDocument,
    "\n  query ClientVersion($id: ID!) {\n    client(id: $id) { version name allowedProviders { slug } rateLimit { points } }\n  }\n": typeof types.ClientVersionDocument,
    "\n  query SessionViewer { viewer { subject email sessionId role tokenExpiresAt } }\n": typeof types.SessionViewerDocument,
    "\n  query OperatorSessions($filter: OperatorSessionFilter) {\n    operatorSessions(first: 50, filter: $filter) {\n      edges { node { id subject email role status revokedBy } }\n    }\n  }\n": typeof types.OperatorSessionsDocument,
    "\n  mutation RevokeOperatorSession($id: ID!) {\n    revokeOperatorSession(id: $id) {\n      __typename\n      ... on RevokeOperatorSessionPayload { session { id status revokedBy } }\n      ... on NotFoundError { message }\n    }\n  }\n": typeof types.RevokeOperatorSessionDocument,
    "\n  mutation SsoCreateClient($input: CreateClientInput!) {\n    createClient(input: $input) {\n      __typename\n      ... on ClientKeyPayload { client { id } }\n    }\n  }\n": typeof types.SsoCreateClientDocument,
    "\n  query SsoAudit($filter: AuditFilter) {\n    auditLog(first: 20, filter: $filter) { edges { node { actor actorEmail actorRole action targetId } } }\n  }\n": typeof types.SsoAuditDocument,
    "\n  fragment ProviderFields on Provider {\n    id\n    slug\n    name\n    kind\n    baseUrl\n    enabled\n    auth { style name }\n    timeoutMs\n    retry { maxAttempts baseDelayMs maxDelayMs retryNonIdempotent budgetPercent }\n    breaker { failureThreshold halfOpenAfterMs successThreshold }\n    rateLimit { points periodMs burst mode maxQueueWaitMs maxQueueSize }\n    healthCheck { enabled path method expectedStatus intervalMs timeoutMs }\n    pricing { currency perRequestMicros estimateMicros models { model inputPerMillionMicros outputPerMillionMicros cachedInputPerMillionMicros } }\n    fallbacks { slug }\n    allowPrivateNetwork\n    version\n    createdAt\n    updatedAt\n  }\n": typeof types.ProviderFieldsFragmentDoc,
    "\n  mutation CreateProvider($input: CreateProviderInput!) {\n    createProvider(input: $input) {\n      __typename\n      ... on ProviderPayload { provider { ...ProviderFields } }\n      ... on ValidationError { code message fieldErrors { path message } }\n      ... on ConflictError { code message }\n    }\n  }\n": typeof types.CreateProviderDocument,
    "\n  query ProviderBulkhead($slug: String!) {\n    provider(slug: $slug) { version bulkhead { maxConcurrent maxQueue maxQueueWaitMs } }\n  }\n": typeof types.ProviderBulkheadDocument,
    "\n  query ProviderReplicaState($slug: String!) {\n    provider(slug: $slug) { replicaState { inFlight queued retryTokens lastFailureAt lastFailureReason } }\n  }\n": typeof types.ProviderReplicaStateDocument,
    "\n  mutation UpdateProvider($input: UpdateProviderInput!) {\n    updateProvider(input: $input) {\n      __typename\n      ... on ProviderPayload { provider { ...ProviderFields } }\n      ... on ValidationError { code message fieldErrors { path message } }\n      ... on NotFoundError { code message }\n      ... on VersionMismatchError { code message currentVersion }\n      ... on ConflictError { code message }\n    }\n  }\n": typeof types.UpdateProviderDocument,
    "\n  mutation SetProviderEnabled($slug: String!, $enabled: Boolean!, $version: Int) {\n    setProviderEnabled(slug: $slug, enabled: $enabled, version: $version) {\n      __typename\n      ... on ProviderPayload { provider { slug enabled version } }\n      ... on NotFoundError { code message }\n      ... on VersionMismatchError { code currentVersion }\n    }\n  }\n": typeof types.SetProviderEnabledDocument,
    "\n  mutation DeleteProvider($slug: String!, $version: Int) {\n    deleteProvider(slug: $slug, version: $version) {\n      __typename\n      ... on DeleteProviderPayload { deletedId slug }\n      ... on NotFoundError { code message }\n      ... on ConflictError { code message }\n      ... on VersionMismatchError { code currentVersion }\n    }\n  }\n": typeof types.DeleteProviderDocument,
    "\n  query GetProvider($slug: String!) {\n    provider(slug: $slug) { ...ProviderFields }\n  }\n": typeof types.GetProviderDocument,
    "\n  query ListProviders($first: Int, $after: String, $last: Int, $before: String, $filter: ProviderFilter) {\n    providers(first: $first, after: $after, last: $last, before: $before, filter: $filter) {\n      edges { cursor node { slug kind enabled } }\n      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }\n    }\n  }\n": typeof types.ListProvidersDocument,
    "\n  query NodeById($id: ID!) {\n    node(id: $id) { __typename ... on Provider { slug } }\n  }\n": typeof types.NodeByIdDocument,
    "\n  query Viewer { viewer { subject role tokenExpiresAt } }\n": typeof types.ViewerDocument,
    "\n  query AuditLog($first: Int, $filter: AuditFilter) {\n    auditLog(first: $first, filter: $filter) {\n      edges { node { action actor actorRole targetType targetId requestId at details } }\n    }\n  }\n": typeof types.AuditLogDocument,
    "\n  query AuditLogWithoutDetails($filter: AuditFilter) {\n    auditLog(first: 50, filter: $filter) {\n      edges { node { action actor targetId } }\n    }\n  }\n": typeof types.AuditLogWithoutDetailsDocument,
    "\n  subscription ProviderChanged($slug: String) {\n    providerChanged(slug: $slug) { change slug actor provider { slug enabled version } }\n  }\n": typeof types.ProviderChangedDocument,
    "\n  fragment KeyFields on ProviderKey {\n    id label status weight last4 fingerprint masterKeyId graceUntil expiresAt problem createdBy\n  }\n": typeof types.KeyFieldsFragmentDoc,
    "\n  mutation AddProviderKey($input: AddProviderKeyInput!) {\n    addProviderKey(input: $input) {\n      __typename\n      ... on ProviderKeyPayload { key { ...KeyFields } }\n      ... on ValidationError { code fieldErrors { path message } }\n      ... on NotFoundError { code message }\n    }\n  }\n": typeof types.AddProviderKeyDocument,
    "\n  mutation RotateProviderKey($input: RotateProviderKeyInput!) {\n    rotateProviderKey(input: $input) {\n      __typename\n      ... on RotateProviderKeyPayload { newKey { ...KeyFields } oldKey { ...KeyFields } }\n      ... on ValidationError { code fieldErrors { path message } }\n      ... on NotFoundError { code message }\n      ... on ConflictError { code message }\n    }\n  }\n": typeof types.RotateProviderKeyDocument,
    "\n  mutation RevokeProviderKey($keyId: ID!) {\n    revokeProviderKey(keyId: $keyId) {\n      __typename\n      ... on ProviderKeyPayload { key { ...KeyFields } }\n      ... on NotFoundError { code message }\n      ... on ConflictError { code message }\n    }\n  }\n": typeof types.RevokeProviderKeyDocument,
    "\n  mutation UpdateProviderKey($input: UpdateProviderKeyInput!) {\n    updateProviderKey(input: $input) {\n      __typename\n      ... on ProviderKeyPayload { key { ...KeyFields } }\n      ... on ValidationError { code fieldErrors { path message } }\n      ... on NotFoundError { code message }\n      ... on ConflictError { code message }\n    }\n  }\n": typeof types.UpdateProviderKeyDocument,
    "\n  query ProviderKeys($slug: String!) {\n    provider(slug: $slug) { slug keySource keys { ...KeyFields } }\n  }\n": typeof types.ProviderKeysDocument,
    "\n  query MasterKeys {\n    masterKeys {\n      currentKid\n      usage { kid secrets configured current }\n      rotation { id targetKid status total processed failed lastError finishedAt }\n    }\n  }\n": typeof types.MasterKeysDocument,
    "\n  mutation RotateMasterKey {\n    rotateMasterKey { id targetKid status total processed }\n  }\n": typeof types.RotateMasterKeyDocument,
    "\n  mutation CreateClient($input: CreateClientInput!) {\n    createClient(input: $input) {\n      __typename\n      ... on ClientKeyPayload { key client { id name status keyPrefix allowedProviders { slug } } }\n      ... on ValidationError { code fieldErrors { path message } }\n    }\n  }\n": typeof types.CreateClientDocument,
    "\n  mutation RotateClientKey($id: ID!) {\n    rotateClientKey(id: $id) {\n      __typename\n      ... on ClientKeyPayload { key client { id keyPrefix } }\n      ... on NotFoundError { code }\n      ... on ConflictError { code message }\n    }\n  }\n": typeof types.RotateClientKeyDocument,
    "\n  mutation RevokeClient($id: ID!) {\n    revokeClient(id: $id) {\n      __typename\n      ... on ClientPayload { client { id status } }\n      ... on NotFoundError { code }\n      ... on ConflictError { code message }\n    }\n  }\n": typeof types.RevokeClientDocument,
    "\n  query GetClient($id: ID!) {\n    client(id: $id) { id name status keyPrefix keyRotatedAt }\n  }\n": typeof types.GetClientDocument,
    "\n  query ProviderCircuit($slug: String!) {\n    provider(slug: $slug) {\n      circuit { state failures reason nextProbeAt }\n      recentCalls(last: 50) { status outcome attempts fallback promptTokens completionTokens model keyId clientId costMicros pricedWithoutTokens }\n    }\n  }\n": typeof types.ProviderCircuitDocument,
    "\n  mutation TripCircuit($provider: String!, $reason: String) {\n    tripCircuit(provider: $provider, reason: $reason) {\n      __typename\n      ... on CircuitPayload { provider circuit { state reason } }\n      ... on NotFoundError { code }\n    }\n  }\n": typeof types.TripCircuitDocument,
    "\n  mutation ResetCircuit($provider: String!) {\n    resetCircuit(provider: $provider) {\n      __typename\n      ... on CircuitPayload { provider circuit { state } }\n      ... on NotFoundError { code }\n    }\n  }\n": typeof types.ResetCircuitDocument,
    "\n  fragment BudgetFields on Budget {\n    id\n    name\n    scope\n    provider { slug }\n    client { id }\n    period\n    timeZone\n    limitMicros\n    thresholds\n    action\n    periodStart\n    periodEnd\n    spentMicros\n    reservedMicros\n    remainingMicros\n    percentUsed\n    projectedSpendMicros\n    version\n  }\n": typeof types.BudgetFieldsFragmentDoc,
    "\n  mutation CreateBudget($input: CreateBudgetInput!) {\n    createBudget(input: $input) {\n      __typename\n      ... on BudgetPayload { budget { ...BudgetFields } }\n      ... on ValidationError { code message fieldErrors { path message } }\n    }\n  }\n": typeof types.CreateBudgetDocument,
    "\n  mutation UpdateBudget($input: UpdateBudgetInput!) {\n    updateBudget(input: $input) {\n      __typename\n      ... on BudgetPayload { budget { ...BudgetFields } }\n      ... on ValidationError { code fieldErrors { path message } }\n      ... on NotFoundError { code }\n      ... on VersionMismatchError { code currentVersion }\n    }\n  }\n": typeof types.UpdateBudgetDocument,
    "\n  mutation DeleteBudget($id: ID!, $version: Int) {\n    deleteBudget(id: $id, version: $version) {\n      __typename\n      ... on BudgetPayload { budget { id name } }\n      ... on NotFoundError { code }\n      ... on VersionMismatchError { code currentVersion }\n    }\n  }\n": typeof types.DeleteBudgetDocument,
    "\n  query GetBudget($id: ID!) {\n    budget(id: $id) { ...BudgetFields }\n  }\n": typeof types.GetBudgetDocument,
    "\n  query ListBudgets($filter: BudgetFilter, $first: Int) {\n    budgets(filter: $filter, first: $first) { edges { node { id name scope } } }\n  }\n": typeof types.ListBudgetsDocument,
    "\n  query ProviderBudgets($slug: String!) {\n    provider(slug: $slug) { budgets { name spentMicros } }\n  }\n": typeof types.ProviderBudgetsDocument,
    "\n  subscription BudgetAlerts($budget: ID) {\n    budgetAlert(budget: $budget) { budgetId budgetName threshold percentUsed spentMicros limitMicros action periodStart periodEnd }\n  }\n": typeof types.BudgetAlertsDocument,
    "\n  fragment SummaryFields on UsageSummary {\n    calls\n    successes\n    failures\n    failuresByOutcome { outcome calls }\n    errorRate\n    latencyMs { p50 p95 p99 mean }\n    upstreamLatencyMs { p50 p95 p99 }\n    promptTokens\n    completionTokens\n    cachedTokens\n    costMicros\n    pricedWithoutTokens\n  }\n": typeof types.SummaryFieldsFragmentDoc,
    "\n  query UsageReport($range: UsageRange, $from: DateTime, $to: DateTime, $groupBy: [UsageDimension!], $filter: UsageFilter) {\n    usage(range: $range, from: $from, to: $to, groupBy: $groupBy, filter: $filter) {\n      __typename\n      ... on UsageReport {\n        from\n        to\n        bucket\n        rolledUpHours\n        totals { ...SummaryFields }\n        groups {\n          providerId\n          provider { slug }\n          clientId\n          keyId\n          model\n          outcome\n          summary { ...SummaryFields }\n          series { start summary { calls costMicros } }\n        }\n      }\n      ... on ValidationError { code fieldErrors { path message } }\n    }\n  }\n": typeof types.UsageReportDocument,
    "\n  query ProviderUsage($slug: String!, $range: UsageRange) {\n    provider(slug: $slug) { usage(range: $range) { ...SummaryFields } }\n  }\n": typeof types.ProviderUsageDocument,
    "\n  query ProviderHealth($slug: String!) {\n    provider(slug: $slug) {\n      health {\n        status\n        reason\n        consecutiveFailures\n        lastError\n        lastCheckAt\n        lastLatencyMs\n        history(last: 10) { from to reason at }\n        probes(last: 50) { ok status source }\n        uptime(range: LAST_HOUR) { availabilityPercent healthyMs downMs unknownMs }\n      }\n    }\n  }\n": typeof types.ProviderHealthDocument,
    "\n  mutation TestProvider($slug: String!) {\n    testProvider(slug: $slug) {\n      __typename\n      ... on TestProviderPayload { result { ok status latencyMs error skipped } health { status reason } }\n      ... on NotFoundError { code }\n    }\n  }\n": typeof types.TestProviderDocument,
    "\n  subscription HealthChanges($provider: String) {\n    providerHealthChanged(provider: $provider) { provider from to reason at }\n  }\n": typeof types.HealthChangesDocument,
    "\n  subscription GatewayEvents($kinds: [GatewayEventKind!], $since: ID) {\n    gatewayEvents(kinds: $kinds, since: $since) {\n      __typename\n      ... on CircuitStateEvent { id provider to reason }\n      ... on ProviderHealthEvent { id provider status: to }\n      ... on BudgetAlertEvent { id budgetName threshold }\n      ... on KeyEvent { id change }\n    }\n  }\n": typeof types.GatewayEventsDocument,
    "\n  subscription CircuitChanges($provider: String) {\n    circuitStateChanged(provider: $provider) { provider to reason }\n  }\n": typeof types.CircuitChangesDocument,
    "\n  mutation CreateAlertChannel($input: CreateAlertChannelInput!) {\n    createAlertChannel(input: $input) {\n      __typename\n      ... on AlertChannelCreatedPayload { secret channel { id name url kinds enabled } }\n      ... on ValidationError { fieldErrors { path message } }\n    }\n  }\n": typeof types.CreateAlertChannelDocument,
    "\n  query JobQueues {\n    jobQueues { name deadLetter counts { created retry active completed failed } finishedLastHour failureRateLastHour history(hours: 2) { hour completed failed failureRate } }\n  }\n": typeof types.JobQueuesDocument,
    "\n  query Jobs($queue: String!, $state: JobState) {\n    jobs(queue: $queue, state: $state) { id queue state attempts retryLimit lastError createdOn completedOn }\n  }\n": typeof types.JobsDocument,
    "\n  mutation RetryJob($queue: String!, $id: ID!) {\n    retryJob(queue: $queue, id: $id) { __typename ... on JobCountPayload { count } ... on ValidationError { fieldErrors { path message } } }\n  }\n": typeof types.RetryJobDocument,
    "\n  mutation RedriveDeadLetters($queue: String!, $limit: Int) {\n    redriveDeadLetters(queue: $queue, limit: $limit) { __typename ... on JobCountPayload { count } ... on ValidationError { fieldErrors { path message } } }\n  }\n": typeof types.RedriveDeadLettersDocument,
    "\n  query ExportConfig {\n    exportConfig\n  }\n": typeof types.ExportConfigDocument,
    "\n  mutation ImportConfig($document: String!, $dryRun: Boolean, $prune: Boolean) {\n    importConfig(document: $document, dryRun: $dryRun, prune: $prune) {\n      __typename\n      ... on ImportConfigPayload {\n        applied\n        plan { section key action fields }\n        clientKeys { name value }\n        channelSecrets { name value }\n      }\n      ... on ValidationError { fieldErrors { path message } }\n    }\n  }\n": typeof types.ImportConfigDocument,
    "\n  query SqlCountProviders($first: Int!) {\n    providers(first: $first) {\n      totalCount\n      edges {\n        node {\n          slug\n          keys { label }\n          fallbacks { slug }\n          budgets { name }\n          health { status history(last: 3) { at } probes(last: 3) { at } }\n        }\n      }\n    }\n  }\n": typeof types.SqlCountProvidersDocument,
    "\n  query SqlCountClients($first: Int!) {\n    clients(first: $first) {\n      totalCount\n      edges {\n        node {\n          name\n          allowedProviders { slug keys { label } budgets { name } fallbacks { slug } }\n        }\n      }\n    }\n  }\n": typeof types.SqlCountClientsDocument,
    "\n  query SqlCountBudgets($first: Int!) {\n    budgets(first: $first) {\n      totalCount\n      edges { node { name provider { slug } client { name } } }\n    }\n  }\n": typeof types.SqlCountBudgetsDocument,
    "\n  query SqlCountUsage($providers: [String!]) {\n    usage(range: LAST_DAY, groupBy: [PROVIDER, CLIENT], filter: { providers: $providers }) {\n      __typename\n      ... on UsageReport { groups { provider { slug } client { name } summary { calls } } }\n    }\n  }\n": typeof types.SqlCountUsageDocument,
    "\n  query OverviewForTest($first: Int!, $today: DateTime!) {\n    providers(first: $first) {\n      edges {\n        node {\n          slug\n          health { status uptime(range: LAST_DAY) { availabilityPercent } }\n          circuit { state }\n          lastHour: usage(range: LAST_HOUR) { calls failures errorRate latencyMs { p95 } }\n          today: usage(from: $today) { calls costMicros }\n          rateLimitHeadroom { limit remaining resetMs }\n        }\n      }\n    }\n  }\n": typeof types.OverviewForTestDocument,
    "\n      query OverviewOneForTest($slug: String!) {\n        provider(slug: $slug) { usage(range: LAST_HOUR) { calls } health { uptime(range: LAST_HOUR) { from to } } }\n      }\n    ": typeof types.OverviewOneForTestDocument,
};
const documents: Documents = {
    "\n  mutation UpdateClient($input: UpdateClientInput!) {\n    updateClient(input: $input) {\n      __typename\n      ... on ClientPayload {\n        client { id name version expiresAt allowedProviders { slug } rateLimit { points periodMs } }\n      }\n      ... on ValidationError { code fieldErrors { path message } }\n      ... on VersionMismatchError { code currentVersion }\n      ... on ConflictError { code message }\n      ... on NotFoundError { code }\n    }\n  }\n": types.UpdateClientDocument,
    "\n  query ClientVersion($id: ID!) {\n    client(id: $id) { version name allowedProviders { slug } rateLimit { points } }\n  }\n": types.ClientVersionDocument,
    "\n  query SessionViewer { viewer { subject email sessionId role tokenExpiresAt } }\n": types.SessionViewerDocument,
    "\n  query OperatorSessions($filter: OperatorSessionFilter) {\n    operatorSessions(first: 50, filter: $filter) {\n      edges { node { id subject email role status revokedBy } }\n    }\n  }\n": types.OperatorSessionsDocument,
    "\n  mutation RevokeOperatorSession($id: ID!) {\n    revokeOperatorSession(id: $id) {\n      __typename\n      ... on RevokeOperatorSessionPayload { session { id status revokedBy } }\n      ... on NotFoundError { message }\n    }\n  }\n": types.RevokeOperatorSessionDocument,
    "\n  mutation SsoCreateClient($input: CreateClientInput!) {\n    createClient(input: $input) {\n      __typename\n      ... on ClientKeyPayload { client { id } }\n    }\n  }\n": types.SsoCreateClientDocument,
    "\n  query SsoAudit($filter: AuditFilter) {\n    auditLog(first: 20, filter: $filter) { edges { node { actor actorEmail actorRole action targetId } } }\n  }\n": types.SsoAuditDocument,
    "\n  fragment ProviderFields on Provider {\n    id\n    slug\n    name\n    kind\n    baseUrl\n    enabled\n    auth { style name }\n    timeoutMs\n    retry { maxAttempts baseDelayMs maxDelayMs retryNonIdempotent budgetPercent }\n    breaker { failureThreshold halfOpenAfterMs successThreshold }\n    rateLimit { points periodMs burst mode maxQueueWaitMs maxQueueSize }\n    healthCheck { enabled path method expectedStatus intervalMs timeoutMs }\n    pricing { currency perRequestMicros estimateMicros models { model inputPerMillionMicros outputPerMillionMicros cachedInputPerMillionMicros } }\n    fallbacks { slug }\n    allowPrivateNetwork\n    version\n    createdAt\n    updatedAt\n  }\n": types.ProviderFieldsFragmentDoc,
    "\n  mutation CreateProvider($input: CreateProviderInput!) {\n    createProvider(input: $input) {\n      __typename\n      ... on ProviderPayload { provider { ...ProviderFields } }\n      ... on ValidationError { code message fieldErrors { path message } }\n      ... on ConflictError { code message }\n    }\n  }\n": types.CreateProviderDocument,
    "\n  query ProviderBulkhead($slug: String!) {\n    provider(slug: $slug) { version bulkhead { maxConcurrent maxQueue maxQueueWaitMs } }\n  }\n": types.ProviderBulkheadDocument,
    "\n  query ProviderReplicaState($slug: String!) {\n    provider(slug: $slug) { replicaState { inFlight queued retryTokens lastFailureAt lastFailureReason } }\n  }\n": types.ProviderReplicaStateDocument,
    "\n  mutation UpdateProvider($input: UpdateProviderInput!) {\n    updateProvider(input: $input) {\n      __typename\n      ... on ProviderPayload { provider { ...ProviderFields } }\n      ... on ValidationError { code message fieldErrors { path message } }\n      ... on NotFoundError { code message }\n      ... on VersionMismatchError { code message currentVersion }\n      ... on ConflictError { code message }\n    }\n  }\n": types.UpdateProviderDocument,
    "\n  mutation SetProviderEnabled($slug: String!, $enabled: Boolean!, $version: Int) {\n    setProviderEnabled(slug: $slug, enabled: $enabled, version: $version) {\n      __typename\n      ... on ProviderPayload { provider { slug enabled version } }\n      ... on NotFoundError { code message }\n      ... on VersionMismatchError { code currentVersion }\n    }\n  }\n": types.SetProviderEnabledDocument,
    "\n  mutation DeleteProvider($slug: String!, $version: Int) {\n    deleteProvider(slug: $slug, version: $version) {\n      __typename\n      ... on DeleteProviderPayload { deletedId slug }\n      ... on NotFoundError { code message }\n      ... on ConflictError { code message }\n      ... on VersionMismatchError { code currentVersion }\n    }\n  }\n": types.DeleteProviderDocument,
    "\n  query GetProvider($slug: String!) {\n    provider(slug: $slug) { ...ProviderFields }\n  }\n": types.GetProviderDocument,
    "\n  query ListProviders($first: Int, $after: String, $last: Int, $before: String, $filter: ProviderFilter) {\n    providers(first: $first, after: $after, last: $last, before: $before, filter: $filter) {\n      edges { cursor node { slug kind enabled } }\n      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }\n    }\n  }\n": types.ListProvidersDocument,
    "\n  query NodeById($id: ID!) {\n    node(id: $id) { __typename ... on Provider { slug } }\n  }\n": types.NodeByIdDocument,
    "\n  query Viewer { viewer { subject role tokenExpiresAt } }\n": types.ViewerDocument,
    "\n  query AuditLog($first: Int, $filter: AuditFilter) {\n    auditLog(first: $first, filter: $filter) {\n      edges { node { action actor actorRole targetType targetId requestId at details } }\n    }\n  }\n": types.AuditLogDocument,
    "\n  query AuditLogWithoutDetails($filter: AuditFilter) {\n    auditLog(first: 50, filter: $filter) {\n      edges { node { action actor targetId } }\n    }\n  }\n": types.AuditLogWithoutDetailsDocument,
    "\n  subscription ProviderChanged($slug: String) {\n    providerChanged(slug: $slug) { change slug actor provider { slug enabled version } }\n  }\n": types.ProviderChangedDocument,
    "\n  fragment KeyFields on ProviderKey {\n    id label status weight last4 fingerprint masterKeyId graceUntil expiresAt problem createdBy\n  }\n": types.KeyFieldsFragmentDoc,
    "\n  mutation AddProviderKey($input: AddProviderKeyInput!) {\n    addProviderKey(input: $input) {\n      __typename\n      ... on ProviderKeyPayload { key { ...KeyFields } }\n      ... on ValidationError { code fieldErrors { path message } }\n      ... on NotFoundError { code message }\n    }\n  }\n": types.AddProviderKeyDocument,
    "\n  mutation RotateProviderKey($input: RotateProviderKeyInput!) {\n    rotateProviderKey(input: $input) {\n      __typename\n      ... on RotateProviderKeyPayload { newKey { ...KeyFields } oldKey { ...KeyFields } }\n      ... on ValidationError { code fieldErrors { path message } }\n      ... on NotFoundError { code message }\n      ... on ConflictError { code message }\n    }\n  }\n": types.RotateProviderKeyDocument,
    "\n  mutation RevokeProviderKey($keyId: ID!) {\n    revokeProviderKey(keyId: $keyId) {\n      __typename\n      ... on ProviderKeyPayload { key { ...KeyFields } }\n      ... on NotFoundError { code message }\n      ... on ConflictError { code message }\n    }\n  }\n": types.RevokeProviderKeyDocument,
    "\n  mutation UpdateProviderKey($input: UpdateProviderKeyInput!) {\n    updateProviderKey(input: $input) {\n      __typename\n      ... on ProviderKeyPayload { key { ...KeyFields } }\n      ... on ValidationError { code fieldErrors { path message } }\n      ... on NotFoundError { code message }\n      ... on ConflictError { code message }\n    }\n  }\n": types.UpdateProviderKeyDocument,
    "\n  query ProviderKeys($slug: String!) {\n    provider(slug: $slug) { slug keySource keys { ...KeyFields } }\n  }\n": types.ProviderKeysDocument,
    "\n  query MasterKeys {\n    masterKeys {\n      currentKid\n      usage { kid secrets configured current }\n      rotation { id targetKid status total processed failed lastError finishedAt }\n    }\n  }\n": types.MasterKeysDocument,
    "\n  mutation RotateMasterKey {\n    rotateMasterKey { id targetKid status total processed }\n  }\n": types.RotateMasterKeyDocument,
    "\n  mutation CreateClient($input: CreateClientInput!) {\n    createClient(input: $input) {\n      __typename\n      ... on ClientKeyPayload { key client { id name status keyPrefix allowedProviders { slug } } }\n      ... on ValidationError { code fieldErrors { path message } }\n    }\n  }\n": types.CreateClientDocument,
    "\n  mutation RotateClientKey($id: ID!) {\n    rotateClientKey(id: $id) {\n      __typename\n      ... on ClientKeyPayload { key client { id keyPrefix } }\n      ... on NotFoundError { code }\n      ... on ConflictError { code message }\n    }\n  }\n": types.RotateClientKeyDocument,
    "\n  mutation RevokeClient($id: ID!) {\n    revokeClient(id: $id) {\n      __typename\n      ... on ClientPayload { client { id status } }\n      ... on NotFoundError { code }\n      ... on ConflictError { code message }\n    }\n  }\n": types.RevokeClientDocument,
    "\n  query GetClient($id: ID!) {\n    client(id: $id) { id name status keyPrefix keyRotatedAt }\n  }\n": types.GetClientDocument,
    "\n  query ProviderCircuit($slug: String!) {\n    provider(slug: $slug) {\n      circuit { state failures reason nextProbeAt }\n      recentCalls(last: 50) { status outcome attempts fallback promptTokens completionTokens model keyId clientId costMicros pricedWithoutTokens }\n    }\n  }\n": types.ProviderCircuitDocument,
    "\n  mutation TripCircuit($provider: String!, $reason: String) {\n    tripCircuit(provider: $provider, reason: $reason) {\n      __typename\n      ... on CircuitPayload { provider circuit { state reason } }\n      ... on NotFoundError { code }\n    }\n  }\n": types.TripCircuitDocument,
    "\n  mutation ResetCircuit($provider: String!) {\n    resetCircuit(provider: $provider) {\n      __typename\n      ... on CircuitPayload { provider circuit { state } }\n      ... on NotFoundError { code }\n    }\n  }\n": types.ResetCircuitDocument,
    "\n  fragment BudgetFields on Budget {\n    id\n    name\n    scope\n    provider { slug }\n    client { id }\n    period\n    timeZone\n    limitMicros\n    thresholds\n    action\n    periodStart\n    periodEnd\n    spentMicros\n    reservedMicros\n    remainingMicros\n    percentUsed\n    projectedSpendMicros\n    version\n  }\n": types.BudgetFieldsFragmentDoc,
    "\n  mutation CreateBudget($input: CreateBudgetInput!) {\n    createBudget(input: $input) {\n      __typename\n      ... on BudgetPayload { budget { ...BudgetFields } }\n      ... on ValidationError { code message fieldErrors { path message } }\n    }\n  }\n": types.CreateBudgetDocument,
    "\n  mutation UpdateBudget($input: UpdateBudgetInput!) {\n    updateBudget(input: $input) {\n      __typename\n      ... on BudgetPayload { budget { ...BudgetFields } }\n      ... on ValidationError { code fieldErrors { path message } }\n      ... on NotFoundError { code }\n      ... on VersionMismatchError { code currentVersion }\n    }\n  }\n": types.UpdateBudgetDocument,
    "\n  mutation DeleteBudget($id: ID!, $version: Int) {\n    deleteBudget(id: $id, version: $version) {\n      __typename\n      ... on BudgetPayload { budget { id name } }\n      ... on NotFoundError { code }\n      ... on VersionMismatchError { code currentVersion }\n    }\n  }\n": types.DeleteBudgetDocument,
    "\n  query GetBudget($id: ID!) {\n    budget(id: $id) { ...BudgetFields }\n  }\n": types.GetBudgetDocument,
    "\n  query ListBudgets($filter: BudgetFilter, $first: Int) {\n    budgets(filter: $filter, first: $first) { edges { node { id name scope } } }\n  }\n": types.ListBudgetsDocument,
    "\n  query ProviderBudgets($slug: String!) {\n    provider(slug: $slug) { budgets { name spentMicros } }\n  }\n": types.ProviderBudgetsDocument,
    "\n  subscription BudgetAlerts($budget: ID) {\n    budgetAlert(budget: $budget) { budgetId budgetName threshold percentUsed spentMicros limitMicros action periodStart periodEnd }\n  }\n": types.BudgetAlertsDocument,
    "\n  fragment SummaryFields on UsageSummary {\n    calls\n    successes\n    failures\n    failuresByOutcome { outcome calls }\n    errorRate\n    latencyMs { p50 p95 p99 mean }\n    upstreamLatencyMs { p50 p95 p99 }\n    promptTokens\n    completionTokens\n    cachedTokens\n    costMicros\n    pricedWithoutTokens\n  }\n": types.SummaryFieldsFragmentDoc,
    "\n  query UsageReport($range: UsageRange, $from: DateTime, $to: DateTime, $groupBy: [UsageDimension!], $filter: UsageFilter) {\n    usage(range: $range, from: $from, to: $to, groupBy: $groupBy, filter: $filter) {\n      __typename\n      ... on UsageReport {\n        from\n        to\n        bucket\n        rolledUpHours\n        totals { ...SummaryFields }\n        groups {\n          providerId\n          provider { slug }\n          clientId\n          keyId\n          model\n          outcome\n          summary { ...SummaryFields }\n          series { start summary { calls costMicros } }\n        }\n      }\n      ... on ValidationError { code fieldErrors { path message } }\n    }\n  }\n": types.UsageReportDocument,
    "\n  query ProviderUsage($slug: String!, $range: UsageRange) {\n    provider(slug: $slug) { usage(range: $range) { ...SummaryFields } }\n  }\n": types.ProviderUsageDocument,
    "\n  query ProviderHealth($slug: String!) {\n    provider(slug: $slug) {\n      health {\n        status\n        reason\n        consecutiveFailures\n        lastError\n        lastCheckAt\n        lastLatencyMs\n        history(last: 10) { from to reason at }\n        probes(last: 50) { ok status source }\n        uptime(range: LAST_HOUR) { availabilityPercent healthyMs downMs unknownMs }\n      }\n    }\n  }\n": types.ProviderHealthDocument,
    "\n  mutation TestProvider($slug: String!) {\n    testProvider(slug: $slug) {\n      __typename\n      ... on TestProviderPayload { result { ok status latencyMs error skipped } health { status reason } }\n      ... on NotFoundError { code }\n    }\n  }\n": types.TestProviderDocument,
    "\n  subscription HealthChanges($provider: String) {\n    providerHealthChanged(provider: $provider) { provider from to reason at }\n  }\n": types.HealthChangesDocument,
    "\n  subscription GatewayEvents($kinds: [GatewayEventKind!], $since: ID) {\n    gatewayEvents(kinds: $kinds, since: $since) {\n      __typename\n      ... on CircuitStateEvent { id provider to reason }\n      ... on ProviderHealthEvent { id provider status: to }\n      ... on BudgetAlertEvent { id budgetName threshold }\n      ... on KeyEvent { id change }\n    }\n  }\n": types.GatewayEventsDocument,
    "\n  subscription CircuitChanges($provider: String) {\n    circuitStateChanged(provider: $provider) { provider to reason }\n  }\n": types.CircuitChangesDocument,
    "\n  mutation CreateAlertChannel($input: CreateAlertChannelInput!) {\n    createAlertChannel(input: $input) {\n      __typename\n      ... on AlertChannelCreatedPayload { secret channel { id name url kinds enabled } }\n      ... on ValidationError { fieldErrors { path message } }\n    }\n  }\n": types.CreateAlertChannelDocument,
    "\n  query JobQueues {\n    jobQueues { name deadLetter counts { created retry active completed failed } finishedLastHour failureRateLastHour history(hours: 2) { hour completed failed failureRate } }\n  }\n": types.JobQueuesDocument,
    "\n  query Jobs($queue: String!, $state: JobState) {\n    jobs(queue: $queue, state: $state) { id queue state attempts retryLimit lastError createdOn completedOn }\n  }\n": types.JobsDocument,
    "\n  mutation RetryJob($queue: String!, $id: ID!) {\n    retryJob(queue: $queue, id: $id) { __typename ... on JobCountPayload { count } ... on ValidationError { fieldErrors { path message } } }\n  }\n": types.RetryJobDocument,
    "\n  mutation RedriveDeadLetters($queue: String!, $limit: Int) {\n    redriveDeadLetters(queue: $queue, limit: $limit) { __typename ... on JobCountPayload { count } ... on ValidationError { fieldErrors { path message } } }\n  }\n": types.RedriveDeadLettersDocument,
    "\n  query ExportConfig {\n    exportConfig\n  }\n": types.ExportConfigDocument,
    "\n  mutation ImportConfig($document: String!, $dryRun: Boolean, $prune: Boolean) {\n    importConfig(document: $document, dryRun: $dryRun, prune: $prune) {\n      __typename\n      ... on ImportConfigPayload {\n        applied\n        plan { section key action fields }\n        clientKeys { name value }\n        channelSecrets { name value }\n      }\n      ... on ValidationError { fieldErrors { path message } }\n    }\n  }\n": types.ImportConfigDocument,
    "\n  query SqlCountProviders($first: Int!) {\n    providers(first: $first) {\n      totalCount\n      edges {\n        node {\n          slug\n          keys { label }\n          fallbacks { slug }\n          budgets { name }\n          health { status history(last: 3) { at } probes(last: 3) { at } }\n        }\n      }\n    }\n  }\n": types.SqlCountProvidersDocument,
    "\n  query SqlCountClients($first: Int!) {\n    clients(first: $first) {\n      totalCount\n      edges {\n        node {\n          name\n          allowedProviders { slug keys { label } budgets { name } fallbacks { slug } }\n        }\n      }\n    }\n  }\n": types.SqlCountClientsDocument,
    "\n  query SqlCountBudgets($first: Int!) {\n    budgets(first: $first) {\n      totalCount\n      edges { node { name provider { slug } client { name } } }\n    }\n  }\n": types.SqlCountBudgetsDocument,
    "\n  query SqlCountUsage($providers: [String!]) {\n    usage(range: LAST_DAY, groupBy: [PROVIDER, CLIENT], filter: { providers: $providers }) {\n      __typename\n      ... on UsageReport { groups { provider { slug } client { name } summary { calls } } }\n    }\n  }\n": types.SqlCountUsageDocument,
    "\n  query OverviewForTest($first: Int!, $today: DateTime!) {\n    providers(first: $first) {\n      edges {\n        node {\n          slug\n          health { status uptime(range: LAST_DAY) { availabilityPercent } }\n          circuit { state }\n          lastHour: usage(range: LAST_HOUR) { calls failures errorRate latencyMs { p95 } }\n          today: usage(from: $today) { calls costMicros }\n          rateLimitHeadroom { limit remaining resetMs }\n        }\n      }\n    }\n  }\n": types.OverviewForTestDocument,
    "\n      query OverviewOneForTest($slug: String!) {\n        provider(slug: $slug) { usage(range: LAST_HOUR) { calls } health { uptime(range: LAST_HOUR) { from to } } }\n      }\n    ": types.OverviewOneForTestDocument,
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
export function graphql(source: "\n  mutation UpdateClient($input: UpdateClientInput!) {\n    updateClient(input: $input) {\n      __typename\n      ... on ClientPayload {\n        client { id name version expiresAt allowedProviders { slug } rateLimit { points periodMs } }\n      }\n      ... on ValidationError { code fieldErrors { path message } }\n      ... on VersionMismatchError { code currentVersion }\n      ... on ConflictError { code message }\n      ... on NotFoundError { code }\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateClient($input: UpdateClientInput!) {\n    updateClient(input: $input) {\n      __typename\n      ... on ClientPayload {\n        client { id name version expiresAt allowedProviders { slug } rateLimit { points periodMs } }\n      }\n      ... on ValidationError { code fieldErrors { path message } }\n      ... on VersionMismatchError { code currentVersion }\n      ... on ConflictError { code message }\n      ... on NotFoundError { code }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ClientVersion($id: ID!) {\n    client(id: $id) { version name allowedProviders { slug } rateLimit { points } }\n  }\n"): (typeof documents)["\n  query ClientVersion($id: ID!) {\n    client(id: $id) { version name allowedProviders { slug } rateLimit { points } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SessionViewer { viewer { subject email sessionId role tokenExpiresAt } }\n"): (typeof documents)["\n  query SessionViewer { viewer { subject email sessionId role tokenExpiresAt } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query OperatorSessions($filter: OperatorSessionFilter) {\n    operatorSessions(first: 50, filter: $filter) {\n      edges { node { id subject email role status revokedBy } }\n    }\n  }\n"): (typeof documents)["\n  query OperatorSessions($filter: OperatorSessionFilter) {\n    operatorSessions(first: 50, filter: $filter) {\n      edges { node { id subject email role status revokedBy } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RevokeOperatorSession($id: ID!) {\n    revokeOperatorSession(id: $id) {\n      __typename\n      ... on RevokeOperatorSessionPayload { session { id status revokedBy } }\n      ... on NotFoundError { message }\n    }\n  }\n"): (typeof documents)["\n  mutation RevokeOperatorSession($id: ID!) {\n    revokeOperatorSession(id: $id) {\n      __typename\n      ... on RevokeOperatorSessionPayload { session { id status revokedBy } }\n      ... on NotFoundError { message }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SsoCreateClient($input: CreateClientInput!) {\n    createClient(input: $input) {\n      __typename\n      ... on ClientKeyPayload { client { id } }\n    }\n  }\n"): (typeof documents)["\n  mutation SsoCreateClient($input: CreateClientInput!) {\n    createClient(input: $input) {\n      __typename\n      ... on ClientKeyPayload { client { id } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SsoAudit($filter: AuditFilter) {\n    auditLog(first: 20, filter: $filter) { edges { node { actor actorEmail actorRole action targetId } } }\n  }\n"): (typeof documents)["\n  query SsoAudit($filter: AuditFilter) {\n    auditLog(first: 20, filter: $filter) { edges { node { actor actorEmail actorRole action targetId } } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment ProviderFields on Provider {\n    id\n    slug\n    name\n    kind\n    baseUrl\n    enabled\n    auth { style name }\n    timeoutMs\n    retry { maxAttempts baseDelayMs maxDelayMs retryNonIdempotent budgetPercent }\n    breaker { failureThreshold halfOpenAfterMs successThreshold }\n    rateLimit { points periodMs burst mode maxQueueWaitMs maxQueueSize }\n    healthCheck { enabled path method expectedStatus intervalMs timeoutMs }\n    pricing { currency perRequestMicros estimateMicros models { model inputPerMillionMicros outputPerMillionMicros cachedInputPerMillionMicros } }\n    fallbacks { slug }\n    allowPrivateNetwork\n    version\n    createdAt\n    updatedAt\n  }\n"): (typeof documents)["\n  fragment ProviderFields on Provider {\n    id\n    slug\n    name\n    kind\n    baseUrl\n    enabled\n    auth { style name }\n    timeoutMs\n    retry { maxAttempts baseDelayMs maxDelayMs retryNonIdempotent budgetPercent }\n    breaker { failureThreshold halfOpenAfterMs successThreshold }\n    rateLimit { points periodMs burst mode maxQueueWaitMs maxQueueSize }\n    healthCheck { enabled path method expectedStatus intervalMs timeoutMs }\n    pricing { currency perRequestMicros estimateMicros models { model inputPerMillionMicros outputPerMillionMicros cachedInputPerMillionMicros } }\n    fallbacks { slug }\n    allowPrivateNetwork\n    version\n    createdAt\n    updatedAt\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateProvider($input: CreateProviderInput!) {\n    createProvider(input: $input) {\n      __typename\n      ... on ProviderPayload { provider { ...ProviderFields } }\n      ... on ValidationError { code message fieldErrors { path message } }\n      ... on ConflictError { code message }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateProvider($input: CreateProviderInput!) {\n    createProvider(input: $input) {\n      __typename\n      ... on ProviderPayload { provider { ...ProviderFields } }\n      ... on ValidationError { code message fieldErrors { path message } }\n      ... on ConflictError { code message }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ProviderBulkhead($slug: String!) {\n    provider(slug: $slug) { version bulkhead { maxConcurrent maxQueue maxQueueWaitMs } }\n  }\n"): (typeof documents)["\n  query ProviderBulkhead($slug: String!) {\n    provider(slug: $slug) { version bulkhead { maxConcurrent maxQueue maxQueueWaitMs } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ProviderReplicaState($slug: String!) {\n    provider(slug: $slug) { replicaState { inFlight queued retryTokens lastFailureAt lastFailureReason } }\n  }\n"): (typeof documents)["\n  query ProviderReplicaState($slug: String!) {\n    provider(slug: $slug) { replicaState { inFlight queued retryTokens lastFailureAt lastFailureReason } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateProvider($input: UpdateProviderInput!) {\n    updateProvider(input: $input) {\n      __typename\n      ... on ProviderPayload { provider { ...ProviderFields } }\n      ... on ValidationError { code message fieldErrors { path message } }\n      ... on NotFoundError { code message }\n      ... on VersionMismatchError { code message currentVersion }\n      ... on ConflictError { code message }\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateProvider($input: UpdateProviderInput!) {\n    updateProvider(input: $input) {\n      __typename\n      ... on ProviderPayload { provider { ...ProviderFields } }\n      ... on ValidationError { code message fieldErrors { path message } }\n      ... on NotFoundError { code message }\n      ... on VersionMismatchError { code message currentVersion }\n      ... on ConflictError { code message }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SetProviderEnabled($slug: String!, $enabled: Boolean!, $version: Int) {\n    setProviderEnabled(slug: $slug, enabled: $enabled, version: $version) {\n      __typename\n      ... on ProviderPayload { provider { slug enabled version } }\n      ... on NotFoundError { code message }\n      ... on VersionMismatchError { code currentVersion }\n    }\n  }\n"): (typeof documents)["\n  mutation SetProviderEnabled($slug: String!, $enabled: Boolean!, $version: Int) {\n    setProviderEnabled(slug: $slug, enabled: $enabled, version: $version) {\n      __typename\n      ... on ProviderPayload { provider { slug enabled version } }\n      ... on NotFoundError { code message }\n      ... on VersionMismatchError { code currentVersion }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteProvider($slug: String!, $version: Int) {\n    deleteProvider(slug: $slug, version: $version) {\n      __typename\n      ... on DeleteProviderPayload { deletedId slug }\n      ... on NotFoundError { code message }\n      ... on ConflictError { code message }\n      ... on VersionMismatchError { code currentVersion }\n    }\n  }\n"): (typeof documents)["\n  mutation DeleteProvider($slug: String!, $version: Int) {\n    deleteProvider(slug: $slug, version: $version) {\n      __typename\n      ... on DeleteProviderPayload { deletedId slug }\n      ... on NotFoundError { code message }\n      ... on ConflictError { code message }\n      ... on VersionMismatchError { code currentVersion }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query GetProvider($slug: String!) {\n    provider(slug: $slug) { ...ProviderFields }\n  }\n"): (typeof documents)["\n  query GetProvider($slug: String!) {\n    provider(slug: $slug) { ...ProviderFields }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ListProviders($first: Int, $after: String, $last: Int, $before: String, $filter: ProviderFilter) {\n    providers(first: $first, after: $after, last: $last, before: $before, filter: $filter) {\n      edges { cursor node { slug kind enabled } }\n      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }\n    }\n  }\n"): (typeof documents)["\n  query ListProviders($first: Int, $after: String, $last: Int, $before: String, $filter: ProviderFilter) {\n    providers(first: $first, after: $after, last: $last, before: $before, filter: $filter) {\n      edges { cursor node { slug kind enabled } }\n      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query NodeById($id: ID!) {\n    node(id: $id) { __typename ... on Provider { slug } }\n  }\n"): (typeof documents)["\n  query NodeById($id: ID!) {\n    node(id: $id) { __typename ... on Provider { slug } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Viewer { viewer { subject role tokenExpiresAt } }\n"): (typeof documents)["\n  query Viewer { viewer { subject role tokenExpiresAt } }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AuditLog($first: Int, $filter: AuditFilter) {\n    auditLog(first: $first, filter: $filter) {\n      edges { node { action actor actorRole targetType targetId requestId at details } }\n    }\n  }\n"): (typeof documents)["\n  query AuditLog($first: Int, $filter: AuditFilter) {\n    auditLog(first: $first, filter: $filter) {\n      edges { node { action actor actorRole targetType targetId requestId at details } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query AuditLogWithoutDetails($filter: AuditFilter) {\n    auditLog(first: 50, filter: $filter) {\n      edges { node { action actor targetId } }\n    }\n  }\n"): (typeof documents)["\n  query AuditLogWithoutDetails($filter: AuditFilter) {\n    auditLog(first: 50, filter: $filter) {\n      edges { node { action actor targetId } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ProviderChanged($slug: String) {\n    providerChanged(slug: $slug) { change slug actor provider { slug enabled version } }\n  }\n"): (typeof documents)["\n  subscription ProviderChanged($slug: String) {\n    providerChanged(slug: $slug) { change slug actor provider { slug enabled version } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment KeyFields on ProviderKey {\n    id label status weight last4 fingerprint masterKeyId graceUntil expiresAt problem createdBy\n  }\n"): (typeof documents)["\n  fragment KeyFields on ProviderKey {\n    id label status weight last4 fingerprint masterKeyId graceUntil expiresAt problem createdBy\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation AddProviderKey($input: AddProviderKeyInput!) {\n    addProviderKey(input: $input) {\n      __typename\n      ... on ProviderKeyPayload { key { ...KeyFields } }\n      ... on ValidationError { code fieldErrors { path message } }\n      ... on NotFoundError { code message }\n    }\n  }\n"): (typeof documents)["\n  mutation AddProviderKey($input: AddProviderKeyInput!) {\n    addProviderKey(input: $input) {\n      __typename\n      ... on ProviderKeyPayload { key { ...KeyFields } }\n      ... on ValidationError { code fieldErrors { path message } }\n      ... on NotFoundError { code message }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RotateProviderKey($input: RotateProviderKeyInput!) {\n    rotateProviderKey(input: $input) {\n      __typename\n      ... on RotateProviderKeyPayload { newKey { ...KeyFields } oldKey { ...KeyFields } }\n      ... on ValidationError { code fieldErrors { path message } }\n      ... on NotFoundError { code message }\n      ... on ConflictError { code message }\n    }\n  }\n"): (typeof documents)["\n  mutation RotateProviderKey($input: RotateProviderKeyInput!) {\n    rotateProviderKey(input: $input) {\n      __typename\n      ... on RotateProviderKeyPayload { newKey { ...KeyFields } oldKey { ...KeyFields } }\n      ... on ValidationError { code fieldErrors { path message } }\n      ... on NotFoundError { code message }\n      ... on ConflictError { code message }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RevokeProviderKey($keyId: ID!) {\n    revokeProviderKey(keyId: $keyId) {\n      __typename\n      ... on ProviderKeyPayload { key { ...KeyFields } }\n      ... on NotFoundError { code message }\n      ... on ConflictError { code message }\n    }\n  }\n"): (typeof documents)["\n  mutation RevokeProviderKey($keyId: ID!) {\n    revokeProviderKey(keyId: $keyId) {\n      __typename\n      ... on ProviderKeyPayload { key { ...KeyFields } }\n      ... on NotFoundError { code message }\n      ... on ConflictError { code message }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateProviderKey($input: UpdateProviderKeyInput!) {\n    updateProviderKey(input: $input) {\n      __typename\n      ... on ProviderKeyPayload { key { ...KeyFields } }\n      ... on ValidationError { code fieldErrors { path message } }\n      ... on NotFoundError { code message }\n      ... on ConflictError { code message }\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateProviderKey($input: UpdateProviderKeyInput!) {\n    updateProviderKey(input: $input) {\n      __typename\n      ... on ProviderKeyPayload { key { ...KeyFields } }\n      ... on ValidationError { code fieldErrors { path message } }\n      ... on NotFoundError { code message }\n      ... on ConflictError { code message }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ProviderKeys($slug: String!) {\n    provider(slug: $slug) { slug keySource keys { ...KeyFields } }\n  }\n"): (typeof documents)["\n  query ProviderKeys($slug: String!) {\n    provider(slug: $slug) { slug keySource keys { ...KeyFields } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query MasterKeys {\n    masterKeys {\n      currentKid\n      usage { kid secrets configured current }\n      rotation { id targetKid status total processed failed lastError finishedAt }\n    }\n  }\n"): (typeof documents)["\n  query MasterKeys {\n    masterKeys {\n      currentKid\n      usage { kid secrets configured current }\n      rotation { id targetKid status total processed failed lastError finishedAt }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RotateMasterKey {\n    rotateMasterKey { id targetKid status total processed }\n  }\n"): (typeof documents)["\n  mutation RotateMasterKey {\n    rotateMasterKey { id targetKid status total processed }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateClient($input: CreateClientInput!) {\n    createClient(input: $input) {\n      __typename\n      ... on ClientKeyPayload { key client { id name status keyPrefix allowedProviders { slug } } }\n      ... on ValidationError { code fieldErrors { path message } }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateClient($input: CreateClientInput!) {\n    createClient(input: $input) {\n      __typename\n      ... on ClientKeyPayload { key client { id name status keyPrefix allowedProviders { slug } } }\n      ... on ValidationError { code fieldErrors { path message } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RotateClientKey($id: ID!) {\n    rotateClientKey(id: $id) {\n      __typename\n      ... on ClientKeyPayload { key client { id keyPrefix } }\n      ... on NotFoundError { code }\n      ... on ConflictError { code message }\n    }\n  }\n"): (typeof documents)["\n  mutation RotateClientKey($id: ID!) {\n    rotateClientKey(id: $id) {\n      __typename\n      ... on ClientKeyPayload { key client { id keyPrefix } }\n      ... on NotFoundError { code }\n      ... on ConflictError { code message }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RevokeClient($id: ID!) {\n    revokeClient(id: $id) {\n      __typename\n      ... on ClientPayload { client { id status } }\n      ... on NotFoundError { code }\n      ... on ConflictError { code message }\n    }\n  }\n"): (typeof documents)["\n  mutation RevokeClient($id: ID!) {\n    revokeClient(id: $id) {\n      __typename\n      ... on ClientPayload { client { id status } }\n      ... on NotFoundError { code }\n      ... on ConflictError { code message }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query GetClient($id: ID!) {\n    client(id: $id) { id name status keyPrefix keyRotatedAt }\n  }\n"): (typeof documents)["\n  query GetClient($id: ID!) {\n    client(id: $id) { id name status keyPrefix keyRotatedAt }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ProviderCircuit($slug: String!) {\n    provider(slug: $slug) {\n      circuit { state failures reason nextProbeAt }\n      recentCalls(last: 50) { status outcome attempts fallback promptTokens completionTokens model keyId clientId costMicros pricedWithoutTokens }\n    }\n  }\n"): (typeof documents)["\n  query ProviderCircuit($slug: String!) {\n    provider(slug: $slug) {\n      circuit { state failures reason nextProbeAt }\n      recentCalls(last: 50) { status outcome attempts fallback promptTokens completionTokens model keyId clientId costMicros pricedWithoutTokens }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation TripCircuit($provider: String!, $reason: String) {\n    tripCircuit(provider: $provider, reason: $reason) {\n      __typename\n      ... on CircuitPayload { provider circuit { state reason } }\n      ... on NotFoundError { code }\n    }\n  }\n"): (typeof documents)["\n  mutation TripCircuit($provider: String!, $reason: String) {\n    tripCircuit(provider: $provider, reason: $reason) {\n      __typename\n      ... on CircuitPayload { provider circuit { state reason } }\n      ... on NotFoundError { code }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ResetCircuit($provider: String!) {\n    resetCircuit(provider: $provider) {\n      __typename\n      ... on CircuitPayload { provider circuit { state } }\n      ... on NotFoundError { code }\n    }\n  }\n"): (typeof documents)["\n  mutation ResetCircuit($provider: String!) {\n    resetCircuit(provider: $provider) {\n      __typename\n      ... on CircuitPayload { provider circuit { state } }\n      ... on NotFoundError { code }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment BudgetFields on Budget {\n    id\n    name\n    scope\n    provider { slug }\n    client { id }\n    period\n    timeZone\n    limitMicros\n    thresholds\n    action\n    periodStart\n    periodEnd\n    spentMicros\n    reservedMicros\n    remainingMicros\n    percentUsed\n    projectedSpendMicros\n    version\n  }\n"): (typeof documents)["\n  fragment BudgetFields on Budget {\n    id\n    name\n    scope\n    provider { slug }\n    client { id }\n    period\n    timeZone\n    limitMicros\n    thresholds\n    action\n    periodStart\n    periodEnd\n    spentMicros\n    reservedMicros\n    remainingMicros\n    percentUsed\n    projectedSpendMicros\n    version\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateBudget($input: CreateBudgetInput!) {\n    createBudget(input: $input) {\n      __typename\n      ... on BudgetPayload { budget { ...BudgetFields } }\n      ... on ValidationError { code message fieldErrors { path message } }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateBudget($input: CreateBudgetInput!) {\n    createBudget(input: $input) {\n      __typename\n      ... on BudgetPayload { budget { ...BudgetFields } }\n      ... on ValidationError { code message fieldErrors { path message } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation UpdateBudget($input: UpdateBudgetInput!) {\n    updateBudget(input: $input) {\n      __typename\n      ... on BudgetPayload { budget { ...BudgetFields } }\n      ... on ValidationError { code fieldErrors { path message } }\n      ... on NotFoundError { code }\n      ... on VersionMismatchError { code currentVersion }\n    }\n  }\n"): (typeof documents)["\n  mutation UpdateBudget($input: UpdateBudgetInput!) {\n    updateBudget(input: $input) {\n      __typename\n      ... on BudgetPayload { budget { ...BudgetFields } }\n      ... on ValidationError { code fieldErrors { path message } }\n      ... on NotFoundError { code }\n      ... on VersionMismatchError { code currentVersion }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DeleteBudget($id: ID!, $version: Int) {\n    deleteBudget(id: $id, version: $version) {\n      __typename\n      ... on BudgetPayload { budget { id name } }\n      ... on NotFoundError { code }\n      ... on VersionMismatchError { code currentVersion }\n    }\n  }\n"): (typeof documents)["\n  mutation DeleteBudget($id: ID!, $version: Int) {\n    deleteBudget(id: $id, version: $version) {\n      __typename\n      ... on BudgetPayload { budget { id name } }\n      ... on NotFoundError { code }\n      ... on VersionMismatchError { code currentVersion }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query GetBudget($id: ID!) {\n    budget(id: $id) { ...BudgetFields }\n  }\n"): (typeof documents)["\n  query GetBudget($id: ID!) {\n    budget(id: $id) { ...BudgetFields }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ListBudgets($filter: BudgetFilter, $first: Int) {\n    budgets(filter: $filter, first: $first) { edges { node { id name scope } } }\n  }\n"): (typeof documents)["\n  query ListBudgets($filter: BudgetFilter, $first: Int) {\n    budgets(filter: $filter, first: $first) { edges { node { id name scope } } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ProviderBudgets($slug: String!) {\n    provider(slug: $slug) { budgets { name spentMicros } }\n  }\n"): (typeof documents)["\n  query ProviderBudgets($slug: String!) {\n    provider(slug: $slug) { budgets { name spentMicros } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription BudgetAlerts($budget: ID) {\n    budgetAlert(budget: $budget) { budgetId budgetName threshold percentUsed spentMicros limitMicros action periodStart periodEnd }\n  }\n"): (typeof documents)["\n  subscription BudgetAlerts($budget: ID) {\n    budgetAlert(budget: $budget) { budgetId budgetName threshold percentUsed spentMicros limitMicros action periodStart periodEnd }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment SummaryFields on UsageSummary {\n    calls\n    successes\n    failures\n    failuresByOutcome { outcome calls }\n    errorRate\n    latencyMs { p50 p95 p99 mean }\n    upstreamLatencyMs { p50 p95 p99 }\n    promptTokens\n    completionTokens\n    cachedTokens\n    costMicros\n    pricedWithoutTokens\n  }\n"): (typeof documents)["\n  fragment SummaryFields on UsageSummary {\n    calls\n    successes\n    failures\n    failuresByOutcome { outcome calls }\n    errorRate\n    latencyMs { p50 p95 p99 mean }\n    upstreamLatencyMs { p50 p95 p99 }\n    promptTokens\n    completionTokens\n    cachedTokens\n    costMicros\n    pricedWithoutTokens\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query UsageReport($range: UsageRange, $from: DateTime, $to: DateTime, $groupBy: [UsageDimension!], $filter: UsageFilter) {\n    usage(range: $range, from: $from, to: $to, groupBy: $groupBy, filter: $filter) {\n      __typename\n      ... on UsageReport {\n        from\n        to\n        bucket\n        rolledUpHours\n        totals { ...SummaryFields }\n        groups {\n          providerId\n          provider { slug }\n          clientId\n          keyId\n          model\n          outcome\n          summary { ...SummaryFields }\n          series { start summary { calls costMicros } }\n        }\n      }\n      ... on ValidationError { code fieldErrors { path message } }\n    }\n  }\n"): (typeof documents)["\n  query UsageReport($range: UsageRange, $from: DateTime, $to: DateTime, $groupBy: [UsageDimension!], $filter: UsageFilter) {\n    usage(range: $range, from: $from, to: $to, groupBy: $groupBy, filter: $filter) {\n      __typename\n      ... on UsageReport {\n        from\n        to\n        bucket\n        rolledUpHours\n        totals { ...SummaryFields }\n        groups {\n          providerId\n          provider { slug }\n          clientId\n          keyId\n          model\n          outcome\n          summary { ...SummaryFields }\n          series { start summary { calls costMicros } }\n        }\n      }\n      ... on ValidationError { code fieldErrors { path message } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ProviderUsage($slug: String!, $range: UsageRange) {\n    provider(slug: $slug) { usage(range: $range) { ...SummaryFields } }\n  }\n"): (typeof documents)["\n  query ProviderUsage($slug: String!, $range: UsageRange) {\n    provider(slug: $slug) { usage(range: $range) { ...SummaryFields } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ProviderHealth($slug: String!) {\n    provider(slug: $slug) {\n      health {\n        status\n        reason\n        consecutiveFailures\n        lastError\n        lastCheckAt\n        lastLatencyMs\n        history(last: 10) { from to reason at }\n        probes(last: 50) { ok status source }\n        uptime(range: LAST_HOUR) { availabilityPercent healthyMs downMs unknownMs }\n      }\n    }\n  }\n"): (typeof documents)["\n  query ProviderHealth($slug: String!) {\n    provider(slug: $slug) {\n      health {\n        status\n        reason\n        consecutiveFailures\n        lastError\n        lastCheckAt\n        lastLatencyMs\n        history(last: 10) { from to reason at }\n        probes(last: 50) { ok status source }\n        uptime(range: LAST_HOUR) { availabilityPercent healthyMs downMs unknownMs }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation TestProvider($slug: String!) {\n    testProvider(slug: $slug) {\n      __typename\n      ... on TestProviderPayload { result { ok status latencyMs error skipped } health { status reason } }\n      ... on NotFoundError { code }\n    }\n  }\n"): (typeof documents)["\n  mutation TestProvider($slug: String!) {\n    testProvider(slug: $slug) {\n      __typename\n      ... on TestProviderPayload { result { ok status latencyMs error skipped } health { status reason } }\n      ... on NotFoundError { code }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription HealthChanges($provider: String) {\n    providerHealthChanged(provider: $provider) { provider from to reason at }\n  }\n"): (typeof documents)["\n  subscription HealthChanges($provider: String) {\n    providerHealthChanged(provider: $provider) { provider from to reason at }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription GatewayEvents($kinds: [GatewayEventKind!], $since: ID) {\n    gatewayEvents(kinds: $kinds, since: $since) {\n      __typename\n      ... on CircuitStateEvent { id provider to reason }\n      ... on ProviderHealthEvent { id provider status: to }\n      ... on BudgetAlertEvent { id budgetName threshold }\n      ... on KeyEvent { id change }\n    }\n  }\n"): (typeof documents)["\n  subscription GatewayEvents($kinds: [GatewayEventKind!], $since: ID) {\n    gatewayEvents(kinds: $kinds, since: $since) {\n      __typename\n      ... on CircuitStateEvent { id provider to reason }\n      ... on ProviderHealthEvent { id provider status: to }\n      ... on BudgetAlertEvent { id budgetName threshold }\n      ... on KeyEvent { id change }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription CircuitChanges($provider: String) {\n    circuitStateChanged(provider: $provider) { provider to reason }\n  }\n"): (typeof documents)["\n  subscription CircuitChanges($provider: String) {\n    circuitStateChanged(provider: $provider) { provider to reason }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateAlertChannel($input: CreateAlertChannelInput!) {\n    createAlertChannel(input: $input) {\n      __typename\n      ... on AlertChannelCreatedPayload { secret channel { id name url kinds enabled } }\n      ... on ValidationError { fieldErrors { path message } }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateAlertChannel($input: CreateAlertChannelInput!) {\n    createAlertChannel(input: $input) {\n      __typename\n      ... on AlertChannelCreatedPayload { secret channel { id name url kinds enabled } }\n      ... on ValidationError { fieldErrors { path message } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query JobQueues {\n    jobQueues { name deadLetter counts { created retry active completed failed } finishedLastHour failureRateLastHour history(hours: 2) { hour completed failed failureRate } }\n  }\n"): (typeof documents)["\n  query JobQueues {\n    jobQueues { name deadLetter counts { created retry active completed failed } finishedLastHour failureRateLastHour history(hours: 2) { hour completed failed failureRate } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Jobs($queue: String!, $state: JobState) {\n    jobs(queue: $queue, state: $state) { id queue state attempts retryLimit lastError createdOn completedOn }\n  }\n"): (typeof documents)["\n  query Jobs($queue: String!, $state: JobState) {\n    jobs(queue: $queue, state: $state) { id queue state attempts retryLimit lastError createdOn completedOn }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RetryJob($queue: String!, $id: ID!) {\n    retryJob(queue: $queue, id: $id) { __typename ... on JobCountPayload { count } ... on ValidationError { fieldErrors { path message } } }\n  }\n"): (typeof documents)["\n  mutation RetryJob($queue: String!, $id: ID!) {\n    retryJob(queue: $queue, id: $id) { __typename ... on JobCountPayload { count } ... on ValidationError { fieldErrors { path message } } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation RedriveDeadLetters($queue: String!, $limit: Int) {\n    redriveDeadLetters(queue: $queue, limit: $limit) { __typename ... on JobCountPayload { count } ... on ValidationError { fieldErrors { path message } } }\n  }\n"): (typeof documents)["\n  mutation RedriveDeadLetters($queue: String!, $limit: Int) {\n    redriveDeadLetters(queue: $queue, limit: $limit) { __typename ... on JobCountPayload { count } ... on ValidationError { fieldErrors { path message } } }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query ExportConfig {\n    exportConfig\n  }\n"): (typeof documents)["\n  query ExportConfig {\n    exportConfig\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ImportConfig($document: String!, $dryRun: Boolean, $prune: Boolean) {\n    importConfig(document: $document, dryRun: $dryRun, prune: $prune) {\n      __typename\n      ... on ImportConfigPayload {\n        applied\n        plan { section key action fields }\n        clientKeys { name value }\n        channelSecrets { name value }\n      }\n      ... on ValidationError { fieldErrors { path message } }\n    }\n  }\n"): (typeof documents)["\n  mutation ImportConfig($document: String!, $dryRun: Boolean, $prune: Boolean) {\n    importConfig(document: $document, dryRun: $dryRun, prune: $prune) {\n      __typename\n      ... on ImportConfigPayload {\n        applied\n        plan { section key action fields }\n        clientKeys { name value }\n        channelSecrets { name value }\n      }\n      ... on ValidationError { fieldErrors { path message } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SqlCountProviders($first: Int!) {\n    providers(first: $first) {\n      totalCount\n      edges {\n        node {\n          slug\n          keys { label }\n          fallbacks { slug }\n          budgets { name }\n          health { status history(last: 3) { at } probes(last: 3) { at } }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query SqlCountProviders($first: Int!) {\n    providers(first: $first) {\n      totalCount\n      edges {\n        node {\n          slug\n          keys { label }\n          fallbacks { slug }\n          budgets { name }\n          health { status history(last: 3) { at } probes(last: 3) { at } }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SqlCountClients($first: Int!) {\n    clients(first: $first) {\n      totalCount\n      edges {\n        node {\n          name\n          allowedProviders { slug keys { label } budgets { name } fallbacks { slug } }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query SqlCountClients($first: Int!) {\n    clients(first: $first) {\n      totalCount\n      edges {\n        node {\n          name\n          allowedProviders { slug keys { label } budgets { name } fallbacks { slug } }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SqlCountBudgets($first: Int!) {\n    budgets(first: $first) {\n      totalCount\n      edges { node { name provider { slug } client { name } } }\n    }\n  }\n"): (typeof documents)["\n  query SqlCountBudgets($first: Int!) {\n    budgets(first: $first) {\n      totalCount\n      edges { node { name provider { slug } client { name } } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SqlCountUsage($providers: [String!]) {\n    usage(range: LAST_DAY, groupBy: [PROVIDER, CLIENT], filter: { providers: $providers }) {\n      __typename\n      ... on UsageReport { groups { provider { slug } client { name } summary { calls } } }\n    }\n  }\n"): (typeof documents)["\n  query SqlCountUsage($providers: [String!]) {\n    usage(range: LAST_DAY, groupBy: [PROVIDER, CLIENT], filter: { providers: $providers }) {\n      __typename\n      ... on UsageReport { groups { provider { slug } client { name } summary { calls } } }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query OverviewForTest($first: Int!, $today: DateTime!) {\n    providers(first: $first) {\n      edges {\n        node {\n          slug\n          health { status uptime(range: LAST_DAY) { availabilityPercent } }\n          circuit { state }\n          lastHour: usage(range: LAST_HOUR) { calls failures errorRate latencyMs { p95 } }\n          today: usage(from: $today) { calls costMicros }\n          rateLimitHeadroom { limit remaining resetMs }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query OverviewForTest($first: Int!, $today: DateTime!) {\n    providers(first: $first) {\n      edges {\n        node {\n          slug\n          health { status uptime(range: LAST_DAY) { availabilityPercent } }\n          circuit { state }\n          lastHour: usage(range: LAST_HOUR) { calls failures errorRate latencyMs { p95 } }\n          today: usage(from: $today) { calls costMicros }\n          rateLimitHeadroom { limit remaining resetMs }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n      query OverviewOneForTest($slug: String!) {\n        provider(slug: $slug) { usage(range: LAST_HOUR) { calls } health { uptime(range: LAST_HOUR) { from to } } }\n      }\n    "): (typeof documents)["\n      query OverviewOneForTest($slug: String!) {\n        provider(slug: $slug) { usage(range: LAST_HOUR) { calls } health { uptime(range: LAST_HOUR) { from to } } }\n      }\n    "];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;