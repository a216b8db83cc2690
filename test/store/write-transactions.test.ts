/**
 * A change through the management API reads rows and then writes, in one transaction on the main
 * connection, while the request-log thread commits through its own. A deferred transaction would take
 * its snapshot at the first read and then fail at the first write with SQLITE_BUSY_SNAPSHOT whenever the
 * log thread committed in between (no busy wait helps: the snapshot is stale), which a busy gateway hits by
 * chance (a PATCH /api/settings failed that way in a test run). The write transactions take the write
 * lock when they begin, so the log thread waits for them instead.
 */
import crypto from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GovernanceRepo } from '../../src/governance/repo.js';
import type { CustomerRecord } from '../../src/governance/types.js';
import { ConfigRepo } from '../../src/store/config-repo.js';
import type { SqliteDatabase } from '../../src/store/database.js';
import type { LogWriter } from '../../src/store/log-writer.js';
import { SecretBox } from '../../src/store/secret-box.js';
import { logRecord, mainAndLogConnections } from './helpers.js';

describe('write transactions on the main connection while the log thread commits', () => {
  let connections: ReturnType<typeof mainAndLogConnections>;
  let main: SqliteDatabase;
  let logs: LogWriter;
  let n = 0;

  /** What the log thread does: commit one row through its connection, without waiting for a lock. */
  const logThreadCommits = (): 'committed' | 'waited' => {
    const dropped = logs.stats.droppedRecords;
    logs.enqueue(logRecord({ id: `log-${++n}` }));
    logs.flush();
    return logs.stats.droppedRecords > dropped ? 'waited' : 'committed';
  };

  beforeEach(() => {
    connections = mainAndLogConnections();
    ({ main, logs } = connections);
  });
  afterEach(() => connections.close());

  it('a settings change that reads first: the log thread cannot commit in the middle, and the change commits', () => {
    const repo = new ConfigRepo(main, new SecretBox(crypto.randomBytes(32)));
    repo.setSetting('limits', { max_body_bytes: 200 });
    let during: string | undefined;
    repo.transaction(() => {
      const current = repo.getSetting<Record<string, unknown>>('limits') ?? {};
      during = logThreadCommits();
      repo.setSetting('limits', { ...current, max_body_bytes: 300 });
    });
    expect(during).toBe('waited');
    expect(repo.getSetting('limits')).toEqual({ max_body_bytes: 300 });
    // Once it committed, the log thread writes again.
    expect(logThreadCommits()).toBe('committed');
  });

  it('a governance change that reads first, likewise', () => {
    const repo = new GovernanceRepo(main);
    let during: string | undefined;
    repo.transaction(() => {
      repo.customers();
      during = logThreadCommits();
      const customer: CustomerRecord = {
        id: 'c1', name: 'acme', description: null, budget: null, rate_limits: [], metadata: {}, source: 'store',
        status: 'active', created_at: 1, updated_at: 1,
      };
      repo.put('customers', customer);
    });
    expect(during).toBe('waited');
    expect(repo.customers().map((customer) => customer.id)).toEqual(['c1']);
  });
});
