import { runConfigScaleBench } from './config-scale.bench.ts';
import { runConsoleBench } from './console.bench.ts';
import { runGraphqlBench } from './graphql.bench.ts';
import { runJobsBench } from './jobs.bench.ts';
import { runProxyBench } from './proxy.bench.ts';
import { runRedactionBench } from './redaction.bench.ts';
import { runSubscriptionsBench } from './subscriptions.bench.ts';
import { runUsageBench } from './usage.bench.ts';

/**
 * Runs the benchmarks named on the command line (default: all). Each prints its figures as
 * ratios against a baseline it measures itself in the same run.
 */
const benches: Record<string, () => Promise<void>> = {
  proxy: runProxyBench,
  graphql: runGraphqlBench,
  usage: runUsageBench,
  subscriptions: runSubscriptionsBench,
  jobs: runJobsBench,
  redaction: runRedactionBench,
  console: runConsoleBench,
  'config-scale': runConfigScaleBench,
};
const chosen = process.argv.slice(2);
for (const name of chosen.length > 0 ? chosen : Object.keys(benches)) {
  const bench = benches[name];
  if (!bench) {
    console.error(`unknown benchmark "${name}"; choose from ${Object.keys(benches).join(', ')}`);
    process.exit(2);
  }
  await bench();
}
process.exit(0);
