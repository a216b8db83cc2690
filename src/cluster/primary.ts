/**
 * `heimdall --workers N`: the primary process. It serves no HTTP itself; it
 * forks N workers that share the listening port (node:cluster), and holds
 * what must be one for all of them:
 *
 * - the spend and rate-limit ledger (a LocalLedger): workers send their
 *   admissions and settlements in batches and wait for the decisions, so a
 *   budget or a rate limit holds across workers exactly as in one process;
 *   every push interval the changed spend rows and counters go to the leader
 *   worker (the first one), which writes them with the governance writer;
 * - /metrics: any worker asked for it gets the sum over all workers
 *   (prom-client's AggregatorRegistry);
 * - configuration changes: a worker whose management API changed the store
 *   tells the primary, which tells the others to rebuild from the store.
 *
 * In cluster mode the primary holds nothing more (docs/cluster.md, "--workers N
 * in cluster mode"): with Redis every worker counts in Redis itself; with
 * Postgres every worker writes its own request logs, and the leader alone
 * pushes the data dir's configuration changes.
 *
 * The first worker starts alone (it creates and migrates the database), the
 * others after it listens. A worker that dies is replaced (after a pause when
 * that keeps happening). SIGINT/SIGTERM stop the workers (each drains its
 * requests and flushes its logs), then the primary.
 */
import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { AggregatorRegistry } from 'prom-client';
import type { LocalLedger } from '../governance/ledger.js';
import { LedgerHost, type LedgerPeer } from './ledger-host.js';
import { isHeimdallMessage, type PrimaryMessage, type WorkerMessage } from './messages.js';

export interface PrimaryOptions {
  workers: number;
  /** How often changed spend goes to the writer (ms). */
  pushIntervalMs?: number;
  /** Where the primary's own lines go. */
  log?: (line: string) => void;
  /** The clock of the ledger (tests). */
  now?: () => number;
}

export interface RunningPrimary {
  readonly ledger: LocalLedger;
  /** Resolves when every worker listens. */
  ready: Promise<void>;
  /** Stops the workers (SIGTERM, each drains) and resolves when all have exited. */
  stop(): Promise<void>;
}

const METRICS_TIMEOUT_MS = 3_000;

/** Environment variable a worker reads its index from (0 is the leader). */
export const WORKER_INDEX_ENV = 'HEIMDALL_WORKER_INDEX';
/** Environment variable naming this primary's run, the same for all its workers (one origin of configuration changes per data dir). */
export const WORKER_GROUP_ENV = 'HEIMDALL_WORKER_GROUP';

export function runPrimary(options: PrimaryOptions): RunningPrimary {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const host = new LedgerHost(options.now);
  const group = randomBytes(3).toString('hex');
  const byIndex = new Map<number, Worker>();
  const indexOf = new Map<Worker, number>();
  let stopping = false;
  let restarts: number[] = [];

  const send = (worker: Worker, message: PrimaryMessage): void => {
    if (worker.isConnected()) worker.send(message);
  };

  const peers = new Map<Worker, LedgerPeer>();
  const peerOf = (worker: Worker, index: number): LedgerPeer => {
    let peer = peers.get(worker);
    if (peer === undefined) {
      peer = { index, send: (message) => send(worker, message) };
      peers.set(worker, peer);
    }
    return peer;
  };

  const onMessage = (worker: Worker, message: unknown): void => {
    if (!isHeimdallMessage(message)) return;
    const typed = message as WorkerMessage;
    switch (typed.hd) {
      case 'ledger':
        host.handle(typed, peerOf(worker, indexOf.get(worker) ?? 0));
        break;
      case 'metrics-req':
        collectMetrics().then(
          (text) => send(worker, { hd: 'metrics-res', id: typed.id, text, contentType: AggregatorRegistry.PROMETHEUS_CONTENT_TYPE }),
          (error: Error) => send(worker, { hd: 'metrics-res', id: typed.id, error: error.message }),
        );
        break;
      case 'metrics-collected': {
        const collection = collections.get(typed.id);
        if (collection !== undefined) collection.arrived(worker, typed.metrics);
        break;
      }
      case 'store-changed':
        for (const other of byIndex.values()) if (other !== worker) send(other, { hd: 'store-changed', from: indexOf.get(worker) });
        break;
    }
  };

  /**
   * /metrics for the cluster: each listening worker's metrics (prom-client JSON), summed by
   * prom-client's AggregatorRegistry.aggregate. Only workers that listen are asked (one that is still
   * starting may not hear the question yet); a worker that does not answer in time is left out.
   */
  const collections = new Map<number, { arrived(worker: Worker, metrics: unknown[] | undefined): void }>();
  let nextCollection = 1;
  const collectMetrics = (): Promise<string> => new Promise((resolve) => {
    const id = nextCollection++;
    const asked = new Set<Worker>();
    for (const worker of byIndex.values()) if (ready.has(worker) && worker.isConnected()) asked.add(worker);
    const answers: unknown[][] = [];
    const finish = (): void => {
      clearTimeout(timer);
      collections.delete(id);
      resolve(AggregatorRegistry.aggregate(answers as Parameters<typeof AggregatorRegistry.aggregate>[0]).metrics());
    };
    const timer = setTimeout(finish, METRICS_TIMEOUT_MS);
    collections.set(id, {
      arrived(worker, metrics) {
        if (!asked.delete(worker)) return;
        if (metrics !== undefined) answers.push(metrics);
        if (asked.size === 0) finish();
      },
    });
    if (asked.size === 0) finish();
    for (const worker of asked) send(worker, { hd: 'metrics-collect', id });
  });
  const ready = new WeakSet<Worker>();

  const pushTimer = setInterval(() => host.push([...peers.values()]), options.pushIntervalMs ?? 500);

  let resolveReady!: () => void;
  let rejectReady!: (error: Error) => void;
  const readyPromise = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  let listening = 0;
  let started = false;

  const fork = (index: number): Worker => {
    const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(index), [WORKER_GROUP_ENV]: group });
    byIndex.set(index, worker);
    indexOf.set(worker, index);
    peerOf(worker, index);
    worker.on('message', (message: unknown) => onMessage(worker, message));
    worker.once('listening', () => {
      ready.add(worker);
      listening++;
      // The first worker created and migrated the database: the others may open it now.
      if (index === 0 && byIndex.size === 1) for (let i = 1; i < options.workers; i++) fork(i);
      if (listening >= options.workers && !started) {
        started = true;
        resolveReady();
      }
    });
    worker.once('exit', (code, signal) => {
      byIndex.delete(index);
      indexOf.delete(worker);
      peers.delete(worker);
      if (stopping) return;
      if (!started) {
        // A worker that cannot start (a bad config, the port taken) would fail again: stop them all.
        rejectReady(new Error(`worker ${index} exited before the gateway was up (${signal ?? `code ${code}`})`));
        void running.stop();
        return;
      }
      const now = Date.now();
      restarts = restarts.filter((at) => now - at < 60_000);
      restarts.push(now);
      const delay = restarts.length > 5 ? 5_000 : 0;
      log(`heimdall: worker ${index} exited (${signal ?? `code ${code}`}); starting a new one${delay > 0 ? ` in ${delay / 1000} s` : ''}`);
      setTimeout(() => {
        if (!stopping) fork(index);
      }, delay).unref();
    });
    return worker;
  };

  fork(0);

  const running: RunningPrimary = {
    ledger: host.ledger,
    ready: readyPromise,
    stop: async () => {
      if (stopping) return;
      stopping = true;
      const exits = [...byIndex.values()].map((worker) => new Promise<void>((resolve) => {
        if (worker.isDead()) {
          resolve();
          return;
        }
        worker.once('exit', () => resolve());
        worker.process.kill('SIGTERM');
      }));
      await Promise.all(exits);
      clearInterval(pushTimer);
    },
  };
  return running;
}
