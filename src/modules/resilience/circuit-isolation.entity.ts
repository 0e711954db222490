import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

/**
 * An operator's trip (`tripCircuit`): configuration, not runtime state, so it lives here rather
 * than in Redis. Every replica restores it on start and re-reads it periodically; the row goes
 * with `resetCircuit` (or with the provider).
 */
export const CircuitIsolationEntity = defineEntity({
  name: 'CircuitIsolation',
  tableName: 'circuit_isolations',
  properties: {
    providerId: p.uuid().primary(),
    reason: p.text(),
    trippedBy: p.string().length(255),
    trippedAt: p.datetime(),
  },
});

export type CircuitIsolation = InferEntity<typeof CircuitIsolationEntity>;
