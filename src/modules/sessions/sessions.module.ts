import type { Config } from '../../config.ts';
import type { Orm } from '../../db/orm.ts';
import type { Component, Module } from '../../shared/components.ts';
import type { Logger } from '../../shared/logger.ts';
import type { AuditService } from '../audit/audit.service.ts';
import type { TokenService } from '../auth/token.service.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { Vault } from '../keys/vault.ts';
import { OidcSignIn } from './oidc-sign-in.ts';
import { SessionService } from './session.service.ts';

/**
 * Console sessions after an OIDC sign-in (always present; empty without OIDC), and the sign-in
 * itself when configured. Operator tokens are checked against the sessions from now on.
 */
export function sessionsModule(deps: {
  config: Config;
  orm: Orm;
  vault: Vault;
  events: EventBus;
  audit: AuditService;
  tokens: TokenService;
  logger: Logger;
}): Module<{ sessions: SessionService; oidc: OidcSignIn | undefined }, { sessions: Component }> {
  const { config, orm, vault, events, audit, logger } = deps;
  const sessions = new SessionService({ orm, vault, events, audit, logger, settings: config.sessions });
  deps.tokens.attachSessions(sessions);
  const oidc = config.oidc
    ? new OidcSignIn({
        settings: config.oidc,
        vault,
        logger,
        clockToleranceSeconds: config.auth.clockToleranceSeconds,
      })
    : undefined;
  if (oidc) sessions.setRefresher((refreshToken, current) => oidc.refresh(refreshToken, current));
  return {
    services: { sessions, oidc },
    components: {
      sessions: {
        name: 'sessions',
        start: () => sessions.start(config.caches.refreshIntervalMs),
        stop: () => sessions.stop(),
      },
    },
  };
}
