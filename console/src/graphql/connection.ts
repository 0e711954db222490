import { useSyncExternalStore } from 'react';

/**
 * The WebSocket's state as the operator sees it: `connecting` before the first connection,
 * `live` while connected, `reconnecting` after a drop (graphql-ws retries on its own), `offline`
 * when the browser reports no network.
 */
export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'offline';

type Listener = () => void;

export class ConnectionStore {
  #state: ConnectionState = 'connecting';
  #everConnected = false;
  #listeners = new Set<Listener>();
  /** Increments on every (re)connection after the first: subscriptions replay from here. */
  #reconnects = 0;

  get state(): ConnectionState {
    return this.#state;
  }
  get reconnects(): number {
    return this.#reconnects;
  }

  connected(): void {
    if (this.#everConnected) this.#reconnects++;
    this.#everConnected = true;
    this.#set('live');
  }
  closed(): void {
    const offline = typeof navigator !== 'undefined' && navigator.onLine === false;
    this.#set(offline ? 'offline' : this.#everConnected ? 'reconnecting' : 'connecting');
  }

  subscribe = (listener: Listener): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  #set(state: ConnectionState): void {
    // `connected` after a reconnect notifies even when the state was already live.
    this.#state = state;
    for (const listener of this.#listeners) listener();
  }
}

export function useConnectionState(store: ConnectionStore): ConnectionState {
  return useSyncExternalStore(store.subscribe, () => store.state);
}
