/** The claims-to-role-and-team mapping of single sign-on, alone. */
import { describe, expect, it } from 'vitest';
import { claimValues, mapIdentity, pickUsername } from '../../src/auth/sso-mapping.js';

const settings = {
  role_map: { 'heimdall-admins': 'admin', ops: 'operator', readers: 'viewer', research: 'member' } as const,
  team_map: { research: 'research', 'research-eu': 'research-eu' },
  default_role: 'viewer' as const,
};

describe('mapIdentity', () => {
  it('gives the strongest mapped role, whatever the order of the groups', () => {
    expect(mapIdentity(['readers', 'heimdall-admins', 'ops'], [], settings)).toEqual({ role: 'admin', team: null, mapped: true });
    expect(mapIdentity(['research', 'readers'], ['research'], settings)).toEqual({ role: 'viewer', team: 'research', mapped: true });
  });

  it('falls back to the default role, or refuses (null) without one', () => {
    expect(mapIdentity(['unrelated'], [], settings)).toEqual({ role: 'viewer', team: null, mapped: false });
    expect(mapIdentity([], [], { ...settings, default_role: null }).role).toBeNull();
  });

  it('takes the team of the first team_map entry the user is in', () => {
    expect(mapIdentity(['research'], ['research-eu', 'research'], settings).team).toBe('research');
  });
});

describe('claimValues', () => {
  it('reads a list, a space- or comma-separated string, and a dotted path (Keycloak realm roles)', () => {
    expect(claimValues({ groups: ['a', 'b', 3] }, 'groups')).toEqual(['a', 'b']);
    expect(claimValues({ roles: 'a b,c' }, 'roles')).toEqual(['a', 'b', 'c']);
    expect(claimValues({ realm_access: { roles: ['ops'] } }, 'realm_access.roles')).toEqual(['ops']);
    expect(claimValues({ 'https://example.com/roles': ['x'] }, 'https://example.com/roles')).toEqual(['x']);
    expect(claimValues({}, 'groups')).toEqual([]);
  });
});

describe('pickUsername', () => {
  it('takes the first candidate, cleans it, and makes it unique', () => {
    const taken = new Set(['alice', 'alice-2']);
    expect(pickUsername([undefined, 'alice', 'sub'], (name) => taken.has(name))).toBe('alice-3');
    expect(pickUsername(['Jane Doe'], () => false)).toBe('Jane_Doe');
  });
});
