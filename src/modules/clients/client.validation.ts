import { z } from 'zod';
import { rateLimitSchema } from '../providers/provider.validation.ts';
import type { Client } from './client.entity.ts';

/**
 * The settings of a client, defined once (as providerSpecSchema is for providers): the GraphQL
 * inputs, the service, config import and export and the client cache all derive from what is
 * here, so a new setting is added in this file and the compiler lists what else must say how it
 * carries it (the GraphQL input fields, the cache's form of it).
 */
const nameSchema = z
  .string()
  .trim()
  .min(1, { message: 'must not be empty' })
  .max(200, { message: 'must be at most 200 characters' });
/** Provider slugs; null means every provider. */
const allowedProvidersSchema = z.array(z.string()).max(500);
const futureDate = z.date().refine((d) => d.getTime() > Date.now(), { message: 'must be in the future' });

/** Every setting of a client, after defaults (provider slugs, not ids). */
export const clientSpecSchema = z.object({
  name: nameSchema,
  allowedProviders: allowedProvidersSchema.nullish().transform((v) => v ?? null),
  rateLimit: rateLimitSchema.optional().transform((v) => v ?? null),
  expiresAt: z
    .date()
    .nullish()
    .transform((v) => v ?? null),
});
export type ClientSpec = z.output<typeof clientSpecSchema>;
export type ClientSetting = keyof ClientSpec;
/** The names of every client setting, in their canonical order. */
export const CLIENT_SETTINGS = Object.keys(clientSpecSchema.shape) as ClientSetting[];

/** createClient: the spec, with an expiry (if any) in the future. */
export const clientCreateSchema = clientSpecSchema.extend({
  expiresAt: futureDate.nullish().transform((v) => v ?? null),
});

/**
 * updateClient: absent settings keep their value; null clears allowedProviders (every provider),
 * rateLimit (none) and expiresAt (never); the name cannot be cleared.
 */
export const clientPatchSchema = z.object({
  name: nameSchema.optional(),
  allowedProviders: allowedProvidersSchema.nullable().optional(),
  rateLimit: rateLimitSchema.nullable().optional(),
  expiresAt: futureDate.nullable().optional(),
} satisfies Record<ClientSetting, z.ZodType>);

/**
 * A client in a config document: provider slugs sorted and the expiry as ISO 8601 text (so two
 * exports diff cleanly and an export imports back unchanged). An expiry already past is accepted:
 * an export holds whatever is stored.
 */
export const clientDocSchema = clientSpecSchema.extend({
  allowedProviders: allowedProvidersSchema.nullish().transform((v) => (v ? [...v].sort() : null)),
  expiresAt: z
    .string()
    .refine((v) => !Number.isNaN(Date.parse(v)), { message: 'must be an ISO 8601 date-time' })
    .nullish()
    .transform((v) => (v ? new Date(v).toISOString() : null)),
});
export type ClientDoc = z.output<typeof clientDocSchema>;

/** A spec as a config document entry. */
export function clientDocOf(spec: ClientSpec): ClientDoc {
  return {
    ...spec,
    allowedProviders: spec.allowedProviders ? [...spec.allowedProviders].sort() : null,
    expiresAt: spec.expiresAt ? spec.expiresAt.toISOString() : null,
  };
}

/** A config document entry as a spec. */
export function clientSpecOfDoc(doc: ClientDoc): ClientSpec {
  return { ...doc, expiresAt: doc.expiresAt ? new Date(doc.expiresAt) : null };
}

/** The columns that hold a client's settings (its allowed providers as ids). */
export type ClientColumns = {
  [K in 'name' | 'allowedProviderIds' | 'rateLimit' | 'expiresAt']-?: Exclude<Client[K], undefined>;
};

/** The columns a spec sets; `providerIds` are its allowed providers' ids (null: every provider). */
export function clientColumns(spec: ClientSpec, providerIds: string[] | null): ClientColumns {
  const { allowedProviders: _slugs, ...rest } = spec;
  return { ...rest, allowedProviderIds: providerIds };
}

/** The settings columns of a stored client. */
export function clientColumnsOf(client: Client): ClientColumns {
  return {
    name: client.name,
    allowedProviderIds: client.allowedProviderIds ?? null,
    rateLimit: client.rateLimit ?? null,
    expiresAt: client.expiresAt ?? null,
  };
}

/** The spec a stored client represents; `slugOf` turns its allowed provider ids into slugs. */
export function clientSpecOf(client: Client, slugOf: (id: string) => string | undefined): ClientSpec {
  const columns = clientColumnsOf(client);
  // In the settings' canonical order (an export lists them so).
  return {
    name: columns.name,
    allowedProviders: columns.allowedProviderIds
      ? columns.allowedProviderIds.map(slugOf).filter((s): s is string => s !== undefined)
      : null,
    rateLimit: columns.rateLimit,
    expiresAt: columns.expiresAt,
  };
}
