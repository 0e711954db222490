import type { Config } from '../../config.ts';
import type { Orm } from '../../db/orm.ts';
import type { Component } from '../../shared/components.ts';
import type { Logger } from '../../shared/logger.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { JobQueue } from '../jobs/job-queue.ts';
import { KeyRing } from './key-ring.ts';
import { defineKeyTransitionJob, keyTransitionScheduler } from './key-transitions.ts';
import { MasterKeyService } from './master-key.service.ts';
import { resolveMasterKeys } from './master-keys.ts';
import { ProviderKeyService } from './provider-key.service.ts';
import { Vault } from './vault.ts';

/** The vault over the master keys (generated under the data dir when none are configured). */
export function openVault(
  config: Config,
  logger: Logger,
): { vault: Vault; generatedMasterKeyPath: string | undefined } {
  const masterKeys = resolveMasterKeys(config);
  if (masterKeys.generatedPath) {
    logger.warn(
      { path: masterKeys.generatedPath },
      'using a generated master key: back up this file, or set TOLLGATE_MASTER_KEYS; without it stored provider keys cannot be decrypted',
    );
  }
  return {
    vault: new Vault(masterKeys.keys),
    generatedMasterKeyPath: masterKeys.created ? masterKeys.generatedPath : undefined,
  };
}

/**
 * Provider keys and master keys. Components: the key ring (decrypted keys in memory, after
 * checking that every stored key's master key is configured) and the master-key rotation (a
 * rotation left running is resumed; on stop, its current batch commits and the rest waits).
 */
export function keysModule(deps: {
  config: Config;
  orm: Orm;
  vault: Vault;
  audit: AuditService;
  events: EventBus;
  jobs: JobQueue;
  logger: Logger;
}) {
  const { orm, vault, audit, events, logger, jobs } = deps;
  const providerKeys = new ProviderKeyService({
    orm,
    vault,
    audit,
    events,
    logger,
    transitions: keyTransitionScheduler(jobs),
  });
  defineKeyTransitionJob(jobs, providerKeys);
  const masterKeys = new MasterKeyService({ orm, vault, audit, keys: providerKeys, logger, jobs });
  const keyRing = new KeyRing({
    orm,
    vault,
    keys: providerKeys,
    events,
    logger,
    envKeys: deps.config.vault.providerEnvKeys,
  });
  const keyRingComponent: Component = {
    name: 'key ring',
    start: async () => {
      await masterKeys.assertAllKidsConfigured();
      await keyRing.start(deps.config.caches.refreshIntervalMs);
    },
    stop: () => keyRing.stop(),
  };
  const rotation: Component = {
    name: 'master-key rotation',
    start: async () => {
      if (await masterKeys.resume()) logger.info('master-key rotation left running: resumed');
    },
    stop: () => masterKeys.stop(),
  };
  return {
    services: { providerKeys, masterKeys, keyRing },
    components: { keyRing: keyRingComponent, rotation },
  };
}
