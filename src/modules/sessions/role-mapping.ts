import type { OidcConfig, Role } from '../../config.ts';

/** Highest first: the first role with a matching value wins. */
const BY_RANK: readonly Role[] = ['admin', 'operator', 'viewer'];

/**
 * The values of a claim as strings. `path` may walk into objects with dots (Keycloak's
 * `realm_access.roles`); a claim whose own name has a dot is found too. Arrays give each string
 * element; a single string gives itself; anything else gives nothing.
 */
export function claimValues(claims: Record<string, unknown>, path: string): string[] {
  let value: unknown = path in claims ? claims[path] : undefined;
  if (value === undefined) {
    value = claims;
    for (const part of path.split('.')) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
      value = (value as Record<string, unknown>)[part];
    }
  }
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

/** The role the claims map to (highest match wins), or undefined: no access. */
export function mapRole(claims: Record<string, unknown>, oidc: Pick<OidcConfig, 'roleClaim' | 'roleValues'>) {
  const values = new Set(claimValues(claims, oidc.roleClaim));
  return BY_RANK.find((role) => oidc.roleValues[role].some((wanted) => wanted === '*' || values.has(wanted)));
}

/**
 * Whether the person's email may sign in: always when no domains are configured; otherwise the
 * email must be present, not marked unverified, and end in one of the domains (exactly, not a
 * suffix of another name: `evil-example.com` is not `example.com`).
 */
export function emailAllowed(claims: Record<string, unknown>, domains: readonly string[]): boolean {
  if (domains.length === 0) return true;
  const email = typeof claims.email === 'string' ? claims.email.toLowerCase() : undefined;
  if (!email || claims.email_verified === false) return false;
  const at = email.lastIndexOf('@');
  return at > 0 && domains.includes(email.slice(at + 1));
}
