/**
 * The registry remembers the secrets it has seen (no SHA-256 per request), and that memory never
 * lets a key through that the hash lookup would refuse: a revoked, deleted, rotated, expired or
 * changed key is refused or seen as changed on the very next request, however often it was used
 * before; only secrets of existing keys are remembered, and at most SECRET_CACHE_SIZE.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors/gateway-error.js';
import { Governance } from '../../src/governance/governance.js';
import { generateKeySecret, hashKey } from '../../src/governance/key-secret.js';
import { Registry, SECRET_CACHE_SIZE } from '../../src/governance/registry.js';
import type { VirtualKeyRecord } from '../../src/governance/types.js';
import { governanceConfig } from './helpers.js';

const T0 = Date.UTC(2026, 10, 29, 12, 0);

const open: Governance[] = [];
afterEach(() => {
  while (open.length > 0) open.pop()!.close();
});

function govern(clock: { now: number }): Governance {
  const governance = new Governance({ config: governanceConfig({ enforce: true }), now: () => clock.now, timers: false });
  open.push(governance);
  return governance;
}

const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

/** The error code a key gets (undefined: accepted). */
function refusal(governance: Governance, secret: string): string | undefined {
  try {
    governance.checkKey(bearer(secret), undefined);
    return undefined;
  } catch (error) {
    if (error instanceof GatewayError) return error.code;
    throw error;
  }
}

/** Uses a key a few times, so that it is remembered. */
function use(governance: Governance, secret: string): void {
  for (let i = 0; i < 3; i++) expect(refusal(governance, secret)).toBeUndefined();
  expect(governance.registry.rememberedSecrets).toBeGreaterThan(0);
}

describe('the remembered secrets of virtual keys', () => {
  it('a revoked key is refused on the next request', () => {
    const governance = govern({ now: T0 });
    const { record, secret } = governance.entities.createKey({ name: 'svc' }, 'test');
    use(governance, secret);
    governance.entities.revokeKey(record.id, 'test');
    expect(refusal(governance, secret)).toBe('HD_ERR_AUTH_INVALID_KEY');
    expect(() => governance.checkKey(bearer(secret), undefined)).toThrow(/was revoked/);
  });

  it('a deleted key is refused on the next request', () => {
    const governance = govern({ now: T0 });
    const { record, secret } = governance.entities.createKey({ name: 'svc' }, 'test');
    use(governance, secret);
    governance.entities.deleteKey(record.id, 'test');
    expect(refusal(governance, secret)).toBe('HD_ERR_AUTH_INVALID_KEY');
    expect(() => governance.checkKey(bearer(secret), undefined)).toThrow(/not valid/);
  });

  it('a rotated key: the old secret is refused at once, the new one works', () => {
    const governance = govern({ now: T0 });
    const { record, secret } = governance.entities.createKey({ name: 'svc' }, 'test');
    use(governance, secret);
    const rotated = governance.entities.rotateKey(record.id, 'test');
    expect(refusal(governance, secret)).toBe('HD_ERR_AUTH_INVALID_KEY');
    expect(refusal(governance, rotated.secret)).toBeUndefined();
    expect(governance.resolveKey(bearer(rotated.secret))?.record.id).toBe(record.id);
  });

  it('an expired key is refused as soon as its time has come', () => {
    const clock = { now: T0 };
    const governance = govern(clock);
    const { secret } = governance.entities.createKey({ name: 'svc', expires_at: T0 + 1000 }, 'test');
    use(governance, secret);
    clock.now = T0 + 1000;
    expect(() => governance.checkKey(bearer(secret), undefined)).toThrow(/has expired/);
  });

  it('a changed key or team is seen as changed on the next request (a team disabled: 403)', () => {
    const governance = govern({ now: T0 });
    const team = governance.entities.putTeam(undefined, { name: 'ml' }, 'test');
    const { record, secret } = governance.entities.createKey({ name: 'svc', team_id: team.id }, 'test');
    use(governance, secret);
    const before = governance.resolveKey(bearer(secret));
    governance.entities.updateKey(record.id, { allowed_models: ['openai/gpt-4o'] }, 'test');
    const after = governance.resolveKey(bearer(secret));
    expect(after).not.toBe(before);
    expect(after?.models?.matches('openai/gpt-4o')).toBe(true);
    expect(after?.models?.matches('openai/o3')).toBe(false);
    governance.entities.putTeam(team.id, { status: 'disabled' }, 'test');
    expect(refusal(governance, secret)).toBe('HD_ERR_AUTH_TEAM_DISABLED');
  });

  it('keys read again from the database (another worker revoked one) are looked up afresh', () => {
    const registry = new Registry();
    const secret = generateKeySecret();
    const record = keyRecord('vk_1', secret);
    registry.load([], [], [record]);
    expect(registry.bySecret(secret)?.record.status).toBe('active');
    expect(registry.bySecret(secret)?.record.status).toBe('active');
    registry.load([], [], [{ ...record, status: 'revoked' }]);
    expect(registry.bySecret(secret)?.record.status).toBe('revoked');
    registry.load([], [], []);
    expect(registry.bySecret(secret)).toBeUndefined();
    expect(registry.rememberedSecrets).toBe(0);
  });

  it('remembers only secrets of existing keys, at most SECRET_CACHE_SIZE, and still finds every key', () => {
    const registry = new Registry();
    const count = SECRET_CACHE_SIZE + 50;
    const secrets = Array.from({ length: count }, (_, i) => `hk-test-${i}`);
    registry.load([], [], secrets.map((secret, i) => keyRecord(`vk_${i}`, secret)));
    for (let i = 0; i < 100; i++) expect(registry.bySecret(`hk-unknown-${i}`)).toBeUndefined();
    expect(registry.rememberedSecrets).toBe(0);
    for (const [i, secret] of secrets.entries()) expect(registry.bySecret(secret)?.record.id).toBe(`vk_${i}`);
    expect(registry.rememberedSecrets).toBe(SECRET_CACHE_SIZE);
    // The oldest were dropped; found again by their hash.
    expect(registry.bySecret(secrets[0])?.record.id).toBe('vk_0');
    expect(registry.rememberedSecrets).toBe(SECRET_CACHE_SIZE);
  });
});

function keyRecord(id: string, secret: string): VirtualKeyRecord {
  return {
    id, name: id, description: null, key_hash: hashKey(secret), key_prefix: secret.slice(0, 7), team_id: null, customer_id: null,
    allowed_providers: null, allowed_models: null, allowed_mcp_servers: null, allowed_mcp_tools: null, budget: null, rate_limits: [],
    metadata: {}, status: 'active', source: 'store', expires_at: null, last_used_at: null, rotated_at: null, created_at: T0, updated_at: T0,
  };
}
