import { createContext, type ReactNode, useContext, useEffect, useRef, useState } from 'react';
import { useClient } from 'urql';
import type { ConsoleGatewayEventsSubscription } from '../gql/graphql.ts';
import { graphql } from '../gql/index.ts';
import { type ConnectionState, type ConnectionStore, useConnectionState } from './connection.ts';

export const GatewayEventsSubscription = graphql(`
  subscription ConsoleGatewayEvents($since: ID) {
    gatewayEvents(since: $since) {
      __typename
      ... on ProviderHealthEvent { id at provider healthFrom: from healthTo: to reason }
      ... on CircuitStateEvent { id at provider circuitFrom: from circuitTo: to reason failures }
      ... on BudgetAlertEvent { id at budgetId budgetName threshold percentUsed spentMicros limitMicros action }
      ... on KeyEvent { id at provider keyId change actor detail }
      ... on JobAlertEvent { id at queue alert message jobId }
    }
  }
`);

export type GatewayEvent = ConsoleGatewayEventsSubscription['gatewayEvents'];

/** Events kept for the pages (newest first). */
const KEEP = 300;

interface LiveEvents {
  events: GatewayEvent[];
  connection: ConnectionState;
  /**
   * Increments when events may have been missed (the replay window was exceeded after a long
   * drop): pages that hold live state reload it.
   */
  resyncs: number;
}

const LiveEventsContext = createContext<LiveEvents | null>(null);

/**
 * One `gatewayEvents` subscription for the whole console. When the WebSocket drops, it is
 * subscribed again with `since` = the last event received, so the server replays what happened
 * meanwhile and a dropped connection loses nothing; events are kept once by id.
 */
export function LiveEventsProvider({ store, children }: { store: ConnectionStore; children: ReactNode }) {
  const client = useClient();
  const connection = useConnectionState(store);
  const [events, setEvents] = useState<GatewayEvent[]>([]);
  const [since, setSince] = useState<string | null>(null);
  const [resyncs, setResyncs] = useState(0);
  const lastId = useRef<string | null>(null);

  // Re-subscribe from the last event on every drop, before graphql-ws reconnects.
  useEffect(
    () =>
      store.subscribe(() => {
        if (store.state !== 'live' && lastId.current) setSince(lastId.current);
      }),
    [store],
  );

  useEffect(() => {
    const { unsubscribe } = client
      .subscription(GatewayEventsSubscription, { since }, { requestPolicy: 'network-only' })
      .subscribe((result) => {
        if (result.error) {
          if (result.error.graphQLErrors.some((e) => e.extensions?.code === 'REPLAY_WINDOW_EXCEEDED')) {
            lastId.current = null;
            setSince(null);
            setResyncs((n) => n + 1);
          }
          return;
        }
        const event = result.data?.gatewayEvents;
        if (!event) return;
        lastId.current = event.id;
        setEvents((current) =>
          current.some((e) => e.id === event.id) ? current : [event, ...current].slice(0, KEEP),
        );
      });
    return unsubscribe;
  }, [client, since]);

  return (
    <LiveEventsContext.Provider value={{ events, connection, resyncs }}>
      {children}
    </LiveEventsContext.Provider>
  );
}

export function useLiveEvents(): LiveEvents {
  const live = useContext(LiveEventsContext);
  if (!live) throw new Error('useLiveEvents outside LiveEventsProvider');
  return live;
}
