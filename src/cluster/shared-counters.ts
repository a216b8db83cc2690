/**
 * Cluster mode's shared counters in the app: with redis.url (or
 * HEIMDALL_REDIS_URL) governance counts budgets and rate limits in Redis
 * (redis-ledger.ts) instead of this process's memory. buildApp calls it
 * before governance; the connection closes after governance's last flush
 * (onClose hooks run last-registered first).
 */
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { ResolvedConfig } from '../config/load.js';
import { accountOf, type Registry } from '../governance/registry.js';
import type { EntityType } from '../governance/types.js';
import { VERSION } from '../version.js';
import { InstanceRegistry } from './instance-registry.js';
import { RedisLedger, type RedisLedgerLogger, type Root } from './redis-ledger.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Cluster mode's shared ledger (undefined: budgets and limits are counted in this process). */
    sharedLedger: RedisLedger | undefined;
    /** This instance's heartbeat, and the list of the cluster's instances (this one alone without Redis). */
    instances: InstanceRegistry;
  }
}

/** A budget level from the registry, and the hash tag its requests use: its customer, else its team, else itself. */
export function rootOf(registry: Registry, type: EntityType, id: string): Root | undefined {
  if (type === 'customer') {
    const customer = registry.customers.get(id);
    return customer === undefined ? undefined : { account: accountOf('customer', customer), tag: `customer:${id}` };
  }
  if (type === 'team') {
    const team = registry.teams.get(id);
    if (team === undefined) return undefined;
    const customer = team.customer_id === null ? undefined : registry.customers.get(team.customer_id);
    return { account: accountOf('team', team), tag: customer === undefined ? `team:${id}` : `customer:${customer.id}` };
  }
  const key = registry.keys.get(id);
  if (key === undefined) return undefined;
  const team = key.team_id === null ? undefined : registry.teams.get(key.team_id);
  const customerId = key.customer_id ?? team?.customer_id ?? null;
  const customer = customerId === null ? undefined : registry.customers.get(customerId);
  const tag = customer !== undefined ? `customer:${customer.id}` : team !== undefined ? `team:${team.id}` : `key:${id}`;
  return { account: accountOf('key', key), tag };
}

/** Where this instance says it listens: HEIMDALL_ADVERTISE_URL, else the address it bound (its host name for 0.0.0.0 / ::). */
function advertisedAddress(app: FastifyInstance, env: NodeJS.ProcessEnv): string {
  const advertised = env.HEIMDALL_ADVERTISE_URL;
  if (advertised !== undefined && advertised !== '') return advertised;
  const address = app.server.address();
  if (address === null || typeof address === 'string') return address ?? '';
  const host = address.address === '0.0.0.0' || address.address === '::' ? hostname() : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

export async function startSharedLedger(app: FastifyInstance, config: ResolvedConfig, logger: RedisLedgerLogger): Promise<RedisLedger | undefined> {
  const ledger = config.redis === undefined ? undefined : new RedisLedger(config.redis, logger);
  const instances = new InstanceRegistry({
    redis: ledger?.redis, prefix: config.redis?.keyPrefix ?? '', version: VERSION, inFlight: () => app.gateway.inFlight, finished: () => app.gateway.finished,
    onCount: (count) => ledger?.setInstances(count),
  });
  app.decorate('sharedLedger', ledger);
  app.decorate('instances', instances);
  app.server.once('listening', () => instances.start(advertisedAddress(app, config.input.env)));
  app.addHook('onClose', async () => {
    await instances.stop();
    await ledger?.close();
  });
  if (ledger === undefined) return undefined;
  await ledger.start();
  app.addHook('onReady', async () => {
    if (app.hasDecorator('governance')) ledger.bindRoots((type, id) => rootOf(app.governance.registry, type, id));
  });
  return ledger;
}
