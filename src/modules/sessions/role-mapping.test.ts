import { describe, expect, it } from 'vitest';
import { claimValues, emailAllowed, mapRole } from './role-mapping.ts';

const oidc = {
  roleClaim: 'groups',
  roleValues: { admin: ['tg-admins'], operator: ['tg-ops', 'sre'], viewer: ['staff'] },
};

describe('role mapping', () => {
  it('gives the highest role any value matches', () => {
    expect(mapRole({ groups: ['staff', 'sre'] }, oidc)).toBe('operator');
    expect(mapRole({ groups: ['staff', 'tg-admins', 'sre'] }, oidc)).toBe('admin');
    expect(mapRole({ groups: 'staff' }, oidc)).toBe('viewer');
  });
  it('gives no role when nothing matches or the claim is missing', () => {
    expect(mapRole({ groups: ['marketing'] }, oidc)).toBeUndefined();
    expect(mapRole({}, oidc)).toBeUndefined();
    expect(mapRole({ groups: [{ name: 'tg-admins' }] }, oidc)).toBeUndefined();
  });
  it('reads nested claims and * matches anyone', () => {
    expect(claimValues({ realm_access: { roles: ['a', 'b'] } }, 'realm_access.roles')).toEqual(['a', 'b']);
    expect(claimValues({ 'https://x.example/roles': ['r'] }, 'https://x.example/roles')).toEqual(['r']);
    expect(mapRole({}, { roleClaim: 'groups', roleValues: { admin: [], operator: [], viewer: ['*'] } })).toBe(
      'viewer',
    );
  });
  it('allows only verified emails in the listed domains', () => {
    expect(emailAllowed({ email: 'a@example.com' }, [])).toBe(true);
    expect(emailAllowed({ email: 'A@Example.com', email_verified: true }, ['example.com'])).toBe(true);
    expect(emailAllowed({ email: 'a@evil-example.com' }, ['example.com'])).toBe(false);
    expect(emailAllowed({ email: 'a@example.com', email_verified: false }, ['example.com'])).toBe(false);
    expect(emailAllowed({}, ['example.com'])).toBe(false);
  });
});
