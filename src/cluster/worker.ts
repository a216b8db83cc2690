/**
 * The worker side of `--workers N`: the IPC channel to the primary (ledger
 * batches and decisions, /metrics relays, store-change notices) and what it
 * plugs into the app (attachWorker, called by buildApp).
 */
import cluster from 'node:cluster';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { isHeimdallMessage, type PrimaryMessage, type WorkerMessage } from './messages.js';
import { WORKER_GROUP_ENV, WORKER_INDEX_ENV } from './primary.js';
import { RemoteLedger } from './remote-ledger.js';

export interface WorkerRuntime {
  /** 0 is the leader (it writes the spend rows, and pushes the configuration changes to Postgres). */
  readonly index: number;
  /** The same for every worker of this primary: the origin of this data dir's configuration changes in Postgres. */
  readonly group: string;
  readonly ledger: RemoteLedger;
  /** The /metrics text summed over every worker. */
  metricsText(): Promise<{ text: string; contentType: string }>;
  /** Tells the other workers that this one changed the store. */
  announceStoreChange(): void;
  onStoreChanged(listener: () => void): void;
  /** The registry this worker's metrics are read from. */
  setRegistry(registry: Registry): void;
}

const METRICS_TIMEOUT_MS = 5_000;

/** Sets up this process as a worker; undefined when it is not a cluster worker. */
export function startWorkerRuntime(): WorkerRuntime | undefined {
  if (!cluster.isWorker || process.send === undefined) return undefined;
  const sendToPrimary = (message: WorkerMessage): void => {
    if (process.connected) process.send!(message);
  };
  const ledger = new RemoteLedger({ send: sendToPrimary });
  const metricsWaiters = new Map<number, { resolve(value: { text: string; contentType: string }): void; reject(error: Error): void }>();
  const listeners: Array<() => void> = [];
  let nextId = 1;
  /** The registry whose metrics this worker contributes to the cluster's /metrics (set by attachWorker). */
  let registry: Registry | undefined;

  process.on('message', (message: unknown) => {
    if (!isHeimdallMessage(message)) return;
    const typed = message as PrimaryMessage;
    switch (typed.hd) {
      case 'decisions':
        ledger.onDecisions(typed);
        break;
      case 'persist':
        ledger.onPersist(typed);
        break;
      case 'metrics-res': {
        const waiter = metricsWaiters.get(typed.id);
        metricsWaiters.delete(typed.id);
        if (typed.text !== undefined) waiter?.resolve({ text: typed.text, contentType: typed.contentType ?? 'text/plain; version=0.0.4; charset=utf-8' });
        else waiter?.reject(new Error(typed.error ?? 'metrics aggregation failed'));
        break;
      }
      case 'store-changed':
        for (const listener of listeners) listener();
        break;
      case 'metrics-collect': {
        const id = typed.id;
        if (registry === undefined) {
          sendToPrimary({ hd: 'metrics-collected', id });
          break;
        }
        registry.getMetricsAsJSON().then(
          (metrics) => sendToPrimary({ hd: 'metrics-collected', id, metrics }),
          (error: Error) => sendToPrimary({ hd: 'metrics-collected', id, error: error.message }),
        );
        break;
      }
    }
  });
  process.on('disconnect', () => ledger.close());

  return {
    index: Number(process.env[WORKER_INDEX_ENV] ?? '0'),
    group: `${hostname()}-${process.ppid}-${process.env[WORKER_GROUP_ENV] ?? ''}`,
    ledger,
    metricsText: () => new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        metricsWaiters.delete(id);
        reject(new Error('the cluster primary did not answer'));
      }, METRICS_TIMEOUT_MS);
      metricsWaiters.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      sendToPrimary({ hd: 'metrics-req', id });
    }),
    announceStoreChange: () => sendToPrimary({ hd: 'store-changed' }),
    onStoreChanged: (listener) => listeners.push(listener),
    setRegistry: (value) => {
      registry = value;
    },
  };
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Plugs a worker runtime into the app (buildApp calls it after governance):
 * /metrics over every worker, store changes told to and heard from the
 * others, and the last spend sync before governance's final flush (onClose
 * hooks run last-registered first).
 */
export function attachWorker(app: FastifyInstance, runtime: WorkerRuntime): void {
  runtime.setRegistry(app.gateway.metrics.registry);
  // The siblings share the port: a refused client's connection may go to one with room (admission.ts).
  app.gateway.admission.closeRefusedConnections = true;
  app.gateway.clusterMetrics = () => runtime.metricsText();
  app.addHook('onResponse', (request, reply, done) => {
    // A management API change (virtual keys, providers, routing, settings...) was saved to the store.
    if (MUTATING.has(request.method) && request.url.startsWith('/api/') && reply.statusCode < 400 && !request.url.startsWith('/api/auth/')) {
      runtime.announceStoreChange();
    }
    done();
  });
  runtime.onStoreChanged(() => {
    if (app.hasDecorator('configService')) app.configService.reloadFromStore();
    if (app.hasDecorator('governance')) app.governance.reloadEntities();
  });
  app.addHook('onClose', async () => {
    runtime.ledger.flush();
    await runtime.ledger.finalSync();
  });
}
