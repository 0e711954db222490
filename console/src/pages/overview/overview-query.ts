import { graphql } from '../../gql/index.ts';

/**
 * The Overview's one query: in a module of its own, because the entry (main.tsx) sends it before
 * the application has loaded (boot/prefetch-first-page.ts), and the entry should carry nothing else.
 * It asks for what the page shows and no more: at 100 providers it is close to the API's cost limit
 * (src/graphql/cost-limit.ts; test/graphql-limits.test.ts checks it with the `__typename`s urql adds).
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
          circuit { state reason since }
          lastHour: usage(range: LAST_HOUR) {
            calls
            failures
            errorRate
            latencyMs { p95 }
          }
          today: usage(from: $today) { costMicros }
          rateLimit { points }
          rateLimitHeadroom { limit remaining }
        }
      }
      pageInfo { hasNextPage }
    }
  }
`);
