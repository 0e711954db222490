import type { CircuitState, HealthStatus } from '../../gql/graphql.ts';
import type { GatewayEvent } from '../../graphql/live-events.tsx';

export interface LiveState {
  circuit?: CircuitState;
  circuitAt?: string;
  circuitReason?: string;
  health?: HealthStatus;
  healthAt?: string;
  healthReason?: string;
}

/**
 * The newest circuit and health state of each provider (by slug) from the live events, which
 * arrive newest first. What the overview query returned is older than any event received since.
 */
export function liveStateBySlug(events: readonly GatewayEvent[]): Map<string, LiveState> {
  const states = new Map<string, LiveState>();
  for (const event of events) {
    if (event.__typename !== 'CircuitStateEvent' && event.__typename !== 'ProviderHealthEvent') continue;
    let state = states.get(event.provider);
    if (!state) {
      state = {};
      states.set(event.provider, state);
    }
    if (event.__typename === 'CircuitStateEvent' && !state.circuit) {
      state.circuit = event.circuitTo;
      state.circuitAt = event.at;
      state.circuitReason = event.reason;
    }
    if (event.__typename === 'ProviderHealthEvent' && !state.health) {
      state.health = event.healthTo;
      state.healthAt = event.at;
      state.healthReason = event.reason;
    }
  }
  return states;
}
