import { afterEach, describe, expect, it } from 'vitest';
import { Governance } from '../../src/governance/governance.js';
import { Store } from '../../src/store/store.js';
import { governanceConfig, removeDir, tempDir } from './helpers.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 29, 23, 0);

const open: Array<() => void> = [];
afterEach(() => {
  while (open.length > 0) open.pop()!();
});

function openStore(dataDir?: string): Store {
  const store = dataDir === undefined
    ? Store.open({ memory: true, retention: false, logs: { autoFlush: false } })
    : Store.open({ dataDir, retention: false, logs: { autoFlush: false } });
  open.push(() => store.close());
  return store;
}

function govern(store: Store | undefined, clock: { now: number }, section: Record<string, unknown> = {}, env: Record<string, string> = {}): Governance {
  const governance = new Governance({
    config: governanceConfig(section, env),
    db: store?.db,
    audit: store === undefined ? undefined : (entry) => store.config.appendAudit(entry),
    now: () => clock.now,
    timers: false,
  });
  open.push(() => governance.close());
  return governance;
}

/** Charges `usd` to a key the way a finished request does (reserve, then settle). */
async function spend(governance: Governance, keyId: string, usd: number, now: number): Promise<void> {
  const state = governance.registry.state(keyId)!;
  const decision = await governance.ledger.admit({ now, accounts: state.levels.map((l) => l.account), estimateUsd: usd, limits: [], estimateTokens: 0 });
  if (!decision.ok) throw new Error(`refused: ${decision.kind}`);
  governance.ledger.settle(decision.ticket, { now, costUsd: usd, tokens: 10 });
}

describe('governance service', () => {
  it('creates keys with a hash only, audits every change, and reads spend and remaining budget', async () => {
    const store = openStore();
    const clock = { now: T0 };
    const governance = govern(store, clock);
    const customer = governance.entities.putCustomer(undefined, { name: 'acme', budget: { max_usd: 100, period: 'monthly', refuse_unpriced: false } }, 'test');
    const team = governance.entities.putTeam(undefined, { name: 'research', customer_id: customer.id }, 'test');
    const { record, secret } = governance.entities.createKey({ name: 'svc', team_id: team.id, budget: { max_usd: 1, period: 'daily', refuse_unpriced: false } }, 'test');
    expect(secret).toMatch(/^hk-/);
    const row = store.db.prepare('SELECT * FROM virtual_keys WHERE id = ?').get(record.id) as Record<string, unknown>;
    expect(row.key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(secret);
    expect(governance.registry.state(record.id)!.customer?.id).toBe(customer.id);

    await spend(governance, record.id, 0.25, clock.now);
    const view = (await import('../../src/governance/views.js')).keyView(governance.registry.keys.get(record.id)!, governance.ledger, clock.now);
    expect(view.budget).toMatchObject({ max_usd: 1, spend_usd: 0.25, remaining_usd: 0.75, resets_at: Date.UTC(2026, 10, 30) });
    expect(view).not.toHaveProperty('key_hash');

    governance.entities.revokeKey(record.id, 'alice');
    const audit = store.config.listAudit({}).items.map((entry) => [entry.actor, entry.action]);
    expect(audit).toEqual([['alice', 'virtual_key.revoke'], ['test', 'virtual_key.create'], ['test', 'team.create'], ['test', 'customer.create']]);
    expect(JSON.stringify(store.config.listAudit({}).items)).not.toContain(secret);
  });

  it('a budget resets on time, even with no request: the period rolls over on the clock', async () => {
    const store = openStore();
    const clock = { now: T0 };
    const governance = govern(store, clock);
    const { record } = governance.entities.createKey({ name: 'svc', budget: { max_usd: 1, period: 'daily', refuse_unpriced: false } }, 'test');
    await spend(governance, record.id, 1, clock.now);
    const account = governance.registry.state(record.id)!.levels[0].account;
    expect((await governance.ledger.admit({ now: clock.now, accounts: [account], estimateUsd: 0, limits: [], estimateTokens: 0 })).ok).toBe(false);
    clock.now = Date.UTC(2026, 10, 30); // midnight UTC: a new day
    governance.sweep();
    expect(governance.ledger.account(account, clock.now)).toMatchObject({ spendUsd: 0, window: { start: Date.UTC(2026, 10, 30) } });
    // The old day's row was written by the sweep.
    const rows = store.db.prepare('SELECT period_start, spend_usd FROM spend WHERE entity_id = ? ORDER BY period_start').all(record.id);
    expect(rows).toEqual([{ period_start: Date.UTC(2026, 10, 29), spend_usd: 1 }]);
    expect((await governance.ledger.admit({ now: clock.now, accounts: [account], estimateUsd: 0, limits: [], estimateTokens: 0 })).ok).toBe(true);
  });

  it('spend survives a restart (written in batches, read back for the current window)', async () => {
    const dataDir = tempDir();
    open.push(() => removeDir(dataDir));
    const clock = { now: T0 };
    let store = Store.open({ dataDir, retention: false });
    let governance = new Governance({ config: governanceConfig(), db: store.db, now: () => clock.now, timers: false });
    const { record } = governance.entities.createKey({ name: 'svc', budget: { max_usd: 5, period: 'monthly', refuse_unpriced: false } }, 'test');
    const team = governance.entities.putTeam(undefined, { name: 't' }, 'test');
    governance.entities.updateKey(record.id, { team_id: team.id }, 'test');
    await spend(governance, record.id, 1.5, clock.now);
    await spend(governance, record.id, 0.5, clock.now);
    governance.close();
    store.close();

    store = Store.open({ dataDir, retention: false });
    governance = new Governance({ config: governanceConfig(), db: store.db, now: () => clock.now + 1000, timers: false });
    open.push(() => store.close(), () => governance.close());
    const key = governance.registry.keys.get(record.id)!;
    expect(key.last_used_at).toBe(null);
    const state = governance.registry.state(record.id)!;
    expect(governance.ledger.account(state.levels[0].account, clock.now)).toMatchObject({ spendUsd: 2, requests: 2, tokens: 20 });
    expect(governance.ledger.account(state.levels[1].account, clock.now)).toMatchObject({ spendUsd: 2, requests: 2 });
  });

  it('config-file declarations are created, kept in sync, and removed; a revoked file key stays revoked', () => {
    const store = openStore();
    const clock = { now: T0 };
    const env = { VK_ONE: 'hk-file-secret-one-0001', VK_TWO: 'hk-file-secret-two-0002' };
    const section = {
      customers: { acme: { budget: { max_usd: 10 } } },
      teams: { research: { customer: 'acme' } },
      virtual_keys: { one: { key: 'env.VK_ONE', team: 'research', allowed_models: ['openai/*'] } },
    };
    const governance = govern(store, clock, section, env);
    const key = governance.registry.keys.get('vk_file_one')!;
    expect(key).toMatchObject({ source: 'file', team_id: 'team_file_research', allowed_models: ['openai/*'] });
    expect(governance.registry.state('vk_file_one')!.customer?.id).toBe('cus_file_acme');
    expect(governance.registry.teams.get('team_file_research')!.customer_id).toBe('cus_file_acme');

    governance.entities.revokeKey('vk_file_one', 'admin');
    governance.applyConfig(governanceConfig({ ...section, virtual_keys: { ...section.virtual_keys, two: { key: 'env.VK_TWO' } } }, env));
    expect(governance.registry.keys.get('vk_file_one')!.status).toBe('revoked');
    expect(governance.registry.keys.get('vk_file_two')!.status).toBe('active');

    governance.applyConfig(governanceConfig({ virtual_keys: { two: { key: 'env.VK_TWO', description: 'changed' } } }, env));
    expect([...governance.registry.keys.keys()]).toEqual(['vk_file_two']);
    expect(governance.registry.keys.get('vk_file_two')!.description).toBe('changed');
    expect(governance.registry.teams.size).toBe(0);
    expect(governance.registry.customers.size).toBe(0);
    const actions = store.config.listAudit({ actor: 'config-file' }).items.map((entry) => entry.action);
    expect(actions).toContain('virtual_key.delete');
    expect(actions).toContain('customer.delete');
  });

  it('refuses references to unknown teams and duplicate team names, naming the field', () => {
    const governance = govern(undefined, { now: T0 });
    expect(() => governance.entities.createKey({ name: 'k', team_id: 'team_nope' }, 'test')).toThrow(/team_id: no team/);
    governance.entities.putTeam(undefined, { name: 'a' }, 'test');
    expect(() => governance.entities.putTeam(undefined, { name: 'a' }, 'test')).toThrow(/already exists/);
  });

  it('concurrent reservations never let a budget be overspent by more than one request', async () => {
    const governance = govern(undefined, { now: T0 });
    const { record } = governance.entities.createKey({ name: 'k', budget: { max_usd: 0.01, period: null, refuse_unpriced: false } }, 'test');
    const accounts = governance.registry.state(record.id)!.levels.map((l) => l.account);
    const estimate = 0.003;
    const decisions = await Promise.all(Array.from({ length: 200 }, () => governance.ledger.admit({ now: T0, accounts, estimateUsd: estimate, limits: [], estimateTokens: 0 })));
    const admitted = decisions.filter((d) => d.ok);
    expect(admitted).toHaveLength(4); // 0, 0.003, 0.006, 0.009 reserved before each: all below 0.01
    for (const decision of admitted) if (decision.ok) governance.ledger.settle(decision.ticket, { now: T0 + DAY, costUsd: 0.0029, tokens: 1 });
    expect(governance.ledger.account(accounts[0], T0).spendUsd).toBeCloseTo(0.0116, 10);
  });
});
