import type { Topic } from './event-bus.ts';

/** The event kinds dashboards and webhooks can choose, and the bus topics they come from. */
export const EVENT_KINDS = {
  PROVIDER_HEALTH: 'health.changed',
  CIRCUIT_STATE: 'circuit.changed',
  BUDGET_ALERT: 'budget.alert',
  KEY: 'key.changed',
  JOB: 'job.alert',
} as const satisfies Record<string, Topic>;
export type EventKind = keyof typeof EVENT_KINDS;
export const KIND_OF_TOPIC = new Map<Topic, EventKind>(
  Object.entries(EVENT_KINDS).map(([kind, topic]) => [topic, kind as EventKind]),
);
