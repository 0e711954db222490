import { runGraphqlBench } from './graphql.bench.ts';

/** Runs every benchmark in turn. Each prints its figures as ratios against a baseline it measures itself. */
await runGraphqlBench();
