import { graphql } from '../../gql/index.ts';

/**
 * The Overview's one query: in a module of its own, because the entry (main.tsx) sends it before
 * the application has loaded (boot/prefetch-first-page.ts), and the entry should carry nothing else.
 */
export const OverviewQuery = graphql(`
  query ConsoleOverview($first: Int!, $today: DateTime!) {
    providers(first: $first) {
      totalCount
      edges {
        node {
          id
          slug
          name
          kind
          enabled
          health {
            status
            reason
            changedAt
            uptime(range: LAST_DAY) { availabilityPercent }
          }
          circuit { state reason since failures }
          lastHour: usage(range: LAST_HOUR) {
            calls
            failures
            errorRate
            latencyMs { p95 }
          }
          today: usage(from: $today) { costMicros }
          rateLimit { points periodMs burst }
          rateLimitHeadroom { limit remaining resetMs }
        }
      }
      pageInfo { hasNextPage }
    }
    enabledProviders: providers(first: 0, filter: { enabled: true }) { totalCount }
  }
`);
