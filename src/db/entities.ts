import { AuditEventEntity } from '../modules/audit/audit.entity.ts';
import { ProviderEntity } from '../modules/providers/provider.entity.ts';

/** Every entity, listed explicitly: no folder scanning, no decorators. */
export const entities = [ProviderEntity, AuditEventEntity];
