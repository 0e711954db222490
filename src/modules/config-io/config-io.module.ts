import type { Config } from '../../config.ts';
import type { Orm } from '../../db/orm.ts';
import type { Component, Module } from '../../shared/components.ts';
import type { Logger } from '../../shared/logger.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { Vault } from '../keys/vault.ts';
import { ConfigExporter } from './config-export.ts';
import { applyConfigFile, ConfigImporter } from './config-import.ts';

/** Config export and import; TOLLGATE_CONFIG_FILE is applied at start (an invalid one stops it). */
export function configIoModule(deps: {
  config: Config;
  orm: Orm;
  audit: AuditService;
  vault: Vault;
  events: EventBus;
  logger: Logger;
}): Module<{ configExporter: ConfigExporter; configImporter: ConfigImporter }, { file: Component }> {
  const { orm, audit, vault, events } = deps;
  const configImporter = new ConfigImporter({ orm, audit, vault, events });
  const path = deps.config.configFile;
  return {
    services: { configExporter: new ConfigExporter(orm), configImporter },
    components: {
      file: {
        name: 'configuration file',
        start: async () => {
          if (path) await applyConfigFile(configImporter, path, deps.logger);
        },
      },
    },
  };
}
