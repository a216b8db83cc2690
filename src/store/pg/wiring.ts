/**
 * Cluster mode's shared configuration in a running app (docs/cluster.md): with a database URL the
 * store in the data dir becomes the replica of Postgres; every change that reaches it from another
 * instance rebuilds the running configuration and governance's keys, teams and customers.
 */
import type { FastifyInstance } from 'fastify';
import type { ResolvedConfig } from '../../config/load.js';
import { checkStoredSecrets } from '../key-rotation.js';
import type { Store } from '../store.js';
import type { StoreLogger } from '../store-logger.js';
import { ConfigSync, type ConfigSyncOptions } from './config-sync.js';
import { Replica } from './replica.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Cluster mode (database.url): the configuration shared through Postgres. */
    configSync?: ConfigSync;
  }
}

/** A process's part in sharing its data dir's configuration (`--workers N`: every worker has the same origin, the leader alone pushes). */
export type ConfigSharing = Pick<ConfigSyncOptions, 'origin' | 'push'>;

/**
 * Without a URL: local writes are not recorded. With one: Postgres migrated, the replica brought up
 * to date (or Postgres seeded from it), and then the stored secrets checked again, so that an
 * instance whose key cannot open what the cluster holds refuses to start.
 */
export async function startConfigSync(store: Store, config: ResolvedConfig, logger: StoreLogger, sharing: ConfigSharing = {}): Promise<ConfigSync | undefined> {
  if (config.database === undefined) {
    new Replica(store.db).disable();
    return undefined;
  }
  const sync = await ConfigSync.start({ url: config.database.url, db: store.db, logger, ...sharing });
  try {
    const checked = checkStoredSecrets(store.db, store.secrets, store.encryptionKeySource, config.input.env);
    if (checked.rotated > 0) logger.info({ secrets: checked.rotated }, 'stored secrets re-encrypted with the new encryption key (HEIMDALL_ENCRYPTION_KEY_PREVIOUS opened them)');
  } catch (error) {
    await sync.close();
    throw error;
  }
  return sync;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * A change from another instance: rebuild as after another worker's change (src/cluster/worker.ts).
 * A management API write is pushed at once rather than at the next look at the outbox.
 * `announceRestore` (`--workers N`): local rows put back as Postgres has them are news to the other
 * workers too (they pull only what Postgres numbers as changes).
 */
export function attachConfigSync(app: FastifyInstance, sync: ConfigSync, announceRestore?: () => void): void {
  app.addHook('onResponse', (request, reply, done) => {
    if (MUTATING.has(request.method) && request.url.startsWith('/api/') && reply.statusCode < 400) sync.kick();
    done();
  });
  sync.onChange((cause) => {
    if (app.hasDecorator('configService')) app.configService.reloadFromStore();
    if (app.hasDecorator('governance')) app.governance.reloadEntities();
    if (cause === 'restored') announceRestore?.();
  });
}
