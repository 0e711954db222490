import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { EntityManager } from '@mikro-orm/postgresql';
import { parse, YAMLParseError } from 'yaml';
import { z } from 'zod';
import type { Orm } from '../../db/orm.ts';
import { type Actor, requireRole } from '../../shared/actor.ts';
import { type FieldError, ValidationError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { checkText, toFieldErrors, unknownFields } from '../../shared/validation.ts';
import { AlertChannelEntity } from '../alerts/alert-channel.entity.ts';
import { channelSchema, secretBinding } from '../alerts/alert-channel.service.ts';
import type { AuditService } from '../audit/audit.service.ts';
import { BudgetEntity } from '../budgets/budget.entity.ts';
import { budgetSpecSchema } from '../budgets/budget.validation.ts';
import { ClientEntity } from '../clients/client.entity.ts';
import { describeClientKey, generateClientKey } from '../clients/client.service.ts';
import { clientColumns, clientDocSchema, clientSpecOfDoc } from '../clients/client.validation.ts';
import type { EventBus } from '../events/event-bus.ts';
import type { Vault } from '../keys/vault.ts';
import { ProviderEntity } from '../providers/provider.entity.ts';
import { specColumns } from '../providers/provider.service.ts';
import { providerSpecSchema } from '../providers/provider.validation.ts';
import { CONFIG_FORMAT_VERSION, exportConfig } from './config-export.ts';

const documentSchema = z
  .object({
    version: z.literal(CONFIG_FORMAT_VERSION, { message: `must be ${CONFIG_FORMAT_VERSION}` }),
    providers: z.array(providerSpecSchema).default([]),
    budgets: z.array(budgetSpecSchema).default([]),
    clients: z.array(clientDocSchema).default([]),
    alertChannels: z.array(channelSchema).default([]),
  })
  // Unknown fields, at every depth, are refused by #parse with their paths (unknownFields).
  .strict();

type ConfigDocument = z.output<typeof documentSchema>;
type Section = 'providers' | 'budgets' | 'clients' | 'alertChannels';

export interface PlanItem {
  section: Section;
  key: string;
  action: 'CREATE' | 'UPDATE' | 'DELETE' | 'UNCHANGED';
  /** Fields that change (for updates). */
  fields: string[];
}

export interface ImportResult {
  applied: boolean;
  plan: PlanItem[];
  /** Shown once: keys of clients and secrets of alert channels this import created. */
  clientKeys: { name: string; key: string }[];
  channelSecrets: { name: string; secret: string }[];
}

const keyOf: Record<Section, (item: Record<string, unknown>) => string> = {
  providers: (p) => String(p.slug),
  budgets: (b) => String(b.name),
  clients: (c) => String(c.name),
  alertChannels: (c) => String(c.name),
};

/**
 * Applies a configuration document (the exportConfig format): the whole document is validated
 * first (every problem with its path), then compared with the current configuration into a plan
 * of creates, updates, deletes (with prune) and unchanged items, then applied in one transaction,
 * or not at all for a dry run. Exporting and importing the same document changes nothing.
 */
export class ConfigImporter {
  readonly #orm: Orm;
  readonly #audit: AuditService;
  readonly #vault: Vault;
  readonly #events: EventBus;

  constructor(deps: { orm: Orm; audit: AuditService; vault: Vault; events: EventBus }) {
    this.#orm = deps.orm;
    this.#audit = deps.audit;
    this.#vault = deps.vault;
    this.#events = deps.events;
  }

  async apply(
    actor: Actor,
    text: string,
    options: { dryRun: boolean; prune: boolean },
  ): Promise<ImportResult> {
    requireRole(actor, 'admin');
    const wanted = this.#parse(text);
    const current = documentSchema.parse(parse(await exportConfig(this.#orm)));
    this.#checkReferences(wanted, current, options.prune);
    const plan = makePlan(wanted, current, options.prune);
    const result: ImportResult = { applied: false, plan, clientKeys: [], channelSecrets: [] };
    if (options.dryRun || plan.every((item) => item.action === 'UNCHANGED')) return result;

    const announcements: (() => unknown)[] = [];
    await this.#orm.em.fork().transactional(async (em) => {
      await this.#write(em, actor, wanted, plan, result, announcements);
      this.#audit.record(em, actor, {
        action: 'config.import',
        targetType: 'Config',
        targetId: `version-${CONFIG_FORMAT_VERSION}`,
        details: {
          prune: options.prune,
          changes: plan
            .filter((i) => i.action !== 'UNCHANGED')
            .map((i) => `${i.action} ${i.section} ${i.key}`),
        },
      });
    });
    result.applied = true;
    // Announced once committed: every replica reloads its caches and subscribers hear of it;
    // this one before the import returns (a client it revoked is refused here from then on).
    await Promise.all(announcements.map((announce) => announce()));
    return result;
  }

  #parse(text: string): ConfigDocument {
    let raw: unknown;
    try {
      raw = parse(text);
    } catch (error) {
      const where =
        error instanceof YAMLParseError && error.linePos ? ` (line ${error.linePos[0]?.line})` : '';
      throw new ValidationError([{ path: ['document'], message: `is not valid YAML${where}` }]);
    }
    // YAML escapes ("\0", "\ud800") make text PostgreSQL cannot store from a clean document.
    if (raw !== null && typeof raw === 'object') checkText(raw, ['document']);
    const parsed = documentSchema.safeParse(raw);
    const errors: FieldError[] = parsed.success
      ? []
      : // The top level's unknown keys come from unknownFields below, each with its own path.
        toFieldErrors(parsed.error, ['document']).filter(
          (_, i) => parsed.error.issues[i]?.code !== 'unrecognized_keys',
        );
    errors.push(...unknownFields(documentSchema, raw, ['document']));
    if (parsed.success) {
      for (const section of ['providers', 'budgets', 'clients', 'alertChannels'] as const) {
        const seen = new Set<string>();
        (parsed.data[section] as Record<string, unknown>[]).forEach((item, i) => {
          const key = keyOf[section](item);
          if (seen.has(key)) {
            errors.push({ path: ['document', section, String(i)], message: `"${key}" is listed twice` });
          }
          seen.add(key);
        });
      }
    }
    if (errors.length > 0 || !parsed.success) throw new ValidationError(errors);
    return parsed.data;
  }

  /** Providers and clients that items refer to must exist once the document is applied. */
  #checkReferences(wanted: ConfigDocument, current: ConfigDocument, prune: boolean): void {
    const providers = new Set(wanted.providers.map((p) => p.slug));
    const clients = new Set(wanted.clients.map((c) => c.name));
    if (!prune) {
      for (const p of current.providers) providers.add(p.slug);
      for (const c of current.clients) clients.add(c.name);
    }
    const errors: FieldError[] = [];
    const missing = (path: (string | number)[], kind: string, name: string): void => {
      errors.push({
        path: ['document', ...path.map(String)],
        message: `${kind} "${name}" is not in the document or Tollgate`,
      });
    };
    for (const [i, p] of wanted.providers.entries()) {
      for (const [j, slug] of p.fallbacks.entries()) {
        if (!providers.has(slug)) missing(['providers', i, 'fallbacks', j], 'provider', slug);
      }
    }
    for (const [i, c] of wanted.clients.entries()) {
      for (const [j, slug] of (c.allowedProviders ?? []).entries()) {
        if (!providers.has(slug)) missing(['clients', i, 'allowedProviders', j], 'provider', slug);
      }
    }
    wanted.budgets.forEach((b, i) => {
      if (b.provider && !providers.has(b.provider))
        missing(['budgets', i, 'provider'], 'provider', b.provider);
      if (b.client && !clients.has(b.client)) missing(['budgets', i, 'client'], 'client', b.client);
    });
    const cycle = findFallbackCycle(wanted, prune ? [] : current.providers);
    if (cycle)
      errors.push({
        path: ['document', 'providers'],
        message: `fallbacks form a cycle: ${cycle.join(' → ')}`,
      });
    if (errors.length > 0) throw new ValidationError(errors);
  }

  async #write(
    em: EntityManager,
    actor: Actor,
    wanted: ConfigDocument,
    plan: PlanItem[],
    result: ImportResult,
    announcements: (() => unknown)[],
  ) {
    const by = actor.subject;
    const action = (section: Section, key: string) =>
      plan.find((i) => i.section === section && i.key === key)?.action ?? 'UNCHANGED';
    const CHANGE = { CREATE: 'CREATED', UPDATE: 'UPDATED', DELETE: 'DELETED' } as const;
    const deletions = (section: Section) =>
      plan.filter((i) => i.section === section && i.action === 'DELETE').map((i) => i.key);
    const events = this.#events;

    // Budgets and channels go first (they refer to providers and clients), providers last.
    for (const budget of await em.find(BudgetEntity, { name: { $in: deletions('budgets') } })) {
      em.remove(budget);
      announcements.push(() =>
        events.publish('budget.changed', { change: 'DELETED', budgetId: budget.id, actor: by }),
      );
    }
    for (const channel of await em.find(AlertChannelEntity, { name: { $in: deletions('alertChannels') } })) {
      em.remove(channel);
    }

    const providers = new Map((await em.find(ProviderEntity, {})).map((p) => [p.slug, p]));
    for (const spec of wanted.providers) {
      const existing = providers.get(spec.slug);
      if (!existing)
        providers.set(spec.slug, em.create(ProviderEntity, { ...specColumns(spec), fallbackIds: [] }));
      else if (action('providers', spec.slug) === 'UPDATE') em.assign(existing, specColumns(spec));
    }
    for (const spec of wanted.providers) {
      const provider = providers.get(spec.slug)!;
      const fallbackIds = spec.fallbacks.map((slug) => providers.get(slug)!.id);
      if (JSON.stringify(provider.fallbackIds) !== JSON.stringify(fallbackIds))
        provider.fallbackIds = fallbackIds;
      const kind = action('providers', spec.slug);
      if (kind !== 'UNCHANGED') {
        const change = CHANGE[kind];
        announcements.push(() =>
          events.publishApplied('provider.changed', {
            change,
            providerId: provider.id,
            slug: spec.slug,
            version: provider.version,
            actor: by,
          }),
        );
      }
    }

    const clients = new Map((await em.find(ClientEntity, { status: 'ACTIVE' })).map((c) => [c.name, c]));
    const providerIds = (slugs: string[] | null) => (slugs ? slugs.map((s) => providers.get(s)!.id) : null);
    for (const doc of wanted.clients) {
      const spec = clientSpecOfDoc(doc);
      const columns = clientColumns(spec, providerIds(spec.allowedProviders));
      const existing = clients.get(spec.name);
      if (!existing) {
        const key = generateClientKey();
        const { prefix, hash } = describeClientKey(key);
        const client = em.create(ClientEntity, {
          ...columns,
          status: 'ACTIVE',
          keyPrefix: prefix,
          keyHash: hash,
          keyRotatedAt: new Date(),
          createdBy: by,
        });
        clients.set(spec.name, client);
        result.clientKeys.push({ name: spec.name, key });
        announcements.push(() =>
          events.publishApplied('client.changed', {
            change: 'CREATED',
            clientId: client.id,
            version: client.version,
            actor: by,
          }),
        );
      } else if (action('clients', spec.name) === 'UPDATE') {
        em.assign(existing, columns);
        announcements.push(() =>
          events.publishApplied('client.changed', {
            change: 'UPDATED',
            clientId: existing.id,
            version: existing.version,
            actor: by,
          }),
        );
      }
    }
    for (const name of deletions('clients')) {
      const client = clients.get(name);
      if (!client) continue;
      client.status = 'REVOKED';
      announcements.push(() =>
        events.publishApplied('client.changed', {
          change: 'REVOKED',
          clientId: client.id,
          version: client.version,
          actor: by,
        }),
      );
    }

    const budgets = new Map((await em.find(BudgetEntity, {})).map((b) => [b.name, b]));
    for (const spec of wanted.budgets) {
      const columns = {
        name: spec.name,
        scope: spec.scope,
        providerId: spec.provider ? providers.get(spec.provider)!.id : null,
        clientId: spec.client ? clients.get(spec.client)!.id : null,
        period: spec.period,
        timeZone: spec.timeZone,
        limitMicros: spec.limitMicros,
        thresholds: spec.thresholds,
        action: spec.action,
      };
      const kind = action('budgets', spec.name);
      const existing = budgets.get(spec.name);
      const budget = existing ?? em.create(BudgetEntity, { ...columns, createdBy: by });
      if (existing && kind === 'UPDATE') em.assign(existing, columns);
      if (kind !== 'UNCHANGED') {
        const change = CHANGE[kind];
        announcements.push(() =>
          events.publish('budget.changed', { change, budgetId: budget.id, actor: by }),
        );
      }
    }

    const channels = new Map((await em.find(AlertChannelEntity, {})).map((c) => [c.name, c]));
    for (const spec of wanted.alertChannels) {
      const existing = channels.get(spec.name);
      if (!existing) {
        const secret = `whsec_${randomBytes(32).toString('base64url')}`;
        const channel = em.create(AlertChannelEntity, {
          ...spec,
          secretCiphertext: '',
          secretKid: '',
          createdBy: by,
        });
        const { ciphertext, kid } = await this.#vault.encrypt(secret, secretBinding(channel.id));
        channel.secretCiphertext = ciphertext;
        channel.secretKid = kid;
        result.channelSecrets.push({ name: spec.name, secret });
      } else if (action('alertChannels', spec.name) === 'UPDATE') {
        em.assign(existing, spec);
      }
    }

    for (const slug of deletions('providers')) {
      const provider = providers.get(slug);
      if (!provider) continue;
      em.remove(provider);
      announcements.push(() =>
        events.publishApplied('provider.changed', {
          change: 'DELETED',
          providerId: provider.id,
          slug,
          actor: by,
        }),
      );
    }
    await em.flush();
  }
}

function makePlan(wanted: ConfigDocument, current: ConfigDocument, prune: boolean): PlanItem[] {
  const plan: PlanItem[] = [];
  for (const section of ['providers', 'clients', 'budgets', 'alertChannels'] as const) {
    const before = new Map(
      (current[section] as Record<string, unknown>[]).map((item) => [keyOf[section](item), item]),
    );
    const after = new Map(
      (wanted[section] as Record<string, unknown>[]).map((item) => [keyOf[section](item), item]),
    );
    for (const [key, item] of after) {
      const old = before.get(key);
      if (!old) {
        plan.push({ section, key, action: 'CREATE', fields: [] });
        continue;
      }
      const fields = Object.keys(item).filter((f) => JSON.stringify(item[f]) !== JSON.stringify(old[f]));
      plan.push({ section, key, action: fields.length > 0 ? 'UPDATE' : 'UNCHANGED', fields });
    }
    for (const key of before.keys()) {
      if (!after.has(key)) plan.push({ section, key, action: prune ? 'DELETE' : 'UNCHANGED', fields: [] });
    }
  }
  return plan;
}

function findFallbackCycle(
  wanted: ConfigDocument,
  others: ConfigDocument['providers'],
): string[] | undefined {
  const edges = new Map<string, string[]>();
  for (const p of others) edges.set(p.slug, p.fallbacks);
  for (const p of wanted.providers) edges.set(p.slug, p.fallbacks);
  const visit = (slug: string, path: string[]): string[] | undefined => {
    if (path.includes(slug)) return [...path.slice(path.indexOf(slug)), slug];
    for (const next of edges.get(slug) ?? []) {
      const found = visit(next, [...path, slug]);
      if (found) return found;
    }
    return undefined;
  };
  for (const slug of edges.keys()) {
    const cycle = visit(slug, []);
    if (cycle) return cycle;
  }
  return undefined;
}

/**
 * TOLLGATE_CONFIG_FILE: applies the document at start-up (creating and updating, never pruning),
 * as the `config-file` admin. An invalid document stops the start with every problem listed.
 */
export async function applyConfigFile(importer: ConfigImporter, path: string, logger: Logger): Promise<void> {
  const text = readFileSync(path, 'utf8');
  try {
    const result = await importer.apply(
      { subject: 'config-file', role: 'admin', requestId: undefined },
      text,
      {
        dryRun: false,
        prune: false,
      },
    );
    const changes = result.plan.filter((i) => i.action !== 'UNCHANGED');
    logger.info(
      { path, changes: changes.map((i) => `${i.action} ${i.section} ${i.key}`) },
      'configuration file applied',
    );
    for (const { name } of result.clientKeys) {
      logger.warn(
        { client: name },
        'client created from the configuration file: rotate its key to obtain one',
      );
    }
  } catch (error) {
    if (error instanceof ValidationError) {
      const problems = error.fieldErrors.map((e) => `${e.path.join('.')}: ${e.message}`).join('; ');
      throw new Error(`TOLLGATE_CONFIG_FILE ${path} was refused: ${problems}`);
    }
    throw error;
  }
}
