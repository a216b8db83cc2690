/**
 * What the primary and the workers say to each other over the cluster IPC
 * channel (JSON). Every message has `hd` (so prom-client's and Node's own
 * cluster messages are told apart) and a type.
 */
import type { CounterChanges, CounterRow, LimitReading, LimitSpec, SpendAccount, SpendRow } from '../governance/ledger.js';
import type { CounterState } from '../governance/rate-limiter.js';
import type { EntityType } from '../governance/types.js';

/**
 * An admission on the wire: the accounts and limit specs (the same few arrays for every request of a
 * key) travel once as definitions (`defs`) and then by number; the rest are numbers.
 * [request id, accounts def, limits def, now, estimate USD, estimate tokens]
 */
export type WireAdmission = [number, number, number, number, number, number];

/**
 * A settlement on the wire: the ticket rebuilt from its admission's definitions.
 * [accounts def, limits def, reserved USD, reserved tokens, now, cost USD, tokens]
 */
export type WireSettlement = [number, number, number, number, number, number, number];

/**
 * A decision on the wire. ok: [id, 1, states]; rate: [id, 2, states, spec index, retry after ms];
 * budget: [id, 3, account index, spend USD, reserved USD]. `states` are the counter states of the admission's limit
 * specs, in order, flat: limit, remaining and reset ms of each (numbers only: a third of the JSON of objects).
 */
export type WireDecision =
  | [number, 1, number[]]
  | [number, 2, number[], number, number]
  | [number, 3, number, number, number];

/** Counter states in the flat form of a WireDecision. */
export function flatStates(states: readonly CounterState[]): number[] {
  const flat = new Array<number>(states.length * 3);
  for (let i = 0; i < states.length; i++) {
    const state = states[i];
    flat[i * 3] = state.limit;
    flat[i * 3 + 1] = state.remaining;
    flat[i * 3 + 2] = state.resetMs;
  }
  return flat;
}

/** The i-th counter state of a flat WireDecision's states. */
export function stateAt(flat: readonly number[], i: number): CounterState {
  return { limit: flat[i * 3], remaining: flat[i * 3 + 1], resetMs: flat[i * 3 + 2] };
}

/** A worker's ledger calls, batched per event-loop turn. */
export interface LedgerBatch {
  hd: 'ledger';
  /** The worker's definitions were dropped (it made too many): the primary forgets its copies first. */
  reset?: boolean;
  /** New definitions: [number, accounts or limit specs]. */
  defs?: Array<[number, SpendAccount[] | LimitSpec[]]>;
  admit?: WireAdmission[];
  settle?: WireSettlement[];
  load?: SpendRow[];
  loadCounters?: { rows: CounterRow[]; now: number };
  forget?: Array<[EntityType, string]>;
  sweep?: { now: number; accounts: SpendAccount[] };
  /** A worker that stops asks for every changed row to write (answered by a persist with this id). */
  sync?: number;
}

/** The primary's answers to one batch: decisions in the order asked. */
export interface LedgerDecisions {
  hd: 'decisions';
  decisions: WireDecision[];
}

/** Spend rows and counter changes for the writer (the leader worker), and the spend for every worker's reads. */
export interface LedgerPersist {
  hd: 'persist';
  rows: SpendRow[];
  counters: CounterChanges | undefined;
  /** Only the leader writes what it gets; the others keep the rows for reads. */
  write: boolean;
  /** The answer to a worker's final sync. */
  sync?: number;
}

/** A worker asks for the aggregated /metrics text; the primary answers it. */
export interface MetricsRequest {
  hd: 'metrics-req';
  id: number;
}
export interface MetricsResponse {
  hd: 'metrics-res';
  id: number;
  text?: string;
  contentType?: string;
  error?: string;
}

/** The primary asks a worker for its own metrics (prom-client's JSON form), to sum them. */
export interface MetricsCollect {
  hd: 'metrics-collect';
  id: number;
}
export interface MetricsCollected {
  hd: 'metrics-collected';
  id: number;
  metrics?: unknown[];
  error?: string;
}

/** A worker's management API changed the store: the others rebuild from it. */
export interface StoreChanged {
  hd: 'store-changed';
  /** The worker the change came from (it has applied it already). */
  from?: number;
}

export type WorkerMessage = LedgerBatch | MetricsRequest | MetricsCollected | StoreChanged;
export type PrimaryMessage = LedgerDecisions | LedgerPersist | MetricsResponse | MetricsCollect | StoreChanged;

export type { LimitReading };

export function isHeimdallMessage(message: unknown): message is { hd: string } {
  return typeof message === 'object' && message !== null && typeof (message as { hd?: unknown }).hd === 'string';
}
