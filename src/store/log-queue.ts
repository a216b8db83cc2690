/**
 * The request log's in-memory queue: O(1) pushes, batches taken from the head,
 * bounded twice, shedding what costs memory first:
 *  - bodies: when the queued bodies exceed `maxBodyChars`, the bodies of the
 *    oldest queued records are dropped (the records stay) — `droppedBodies`;
 *  - records: when more than `maxRecords` are queued, the oldest records are
 *    dropped — `droppedRecords`.
 * Neither ever blocks or fails the caller.
 */
import type { RequestLogRecord } from './log-types.js';

interface QueueEntry {
  record: RequestLogRecord;
  bodyChars: number;
}

/** Compact the queue array once this many consumed slots lead it. */
const COMPACT_AT = 4096;

/** The characters a record's bodies hold (what the queue's body bound counts). */
export function recordBodyChars(record: RequestLogRecord): number {
  return (typeof record.request_body === 'string' ? record.request_body.length : 0) +
    (typeof record.response_body === 'string' ? record.response_body.length : 0);
}

export class LogQueue {
  readonly #maxRecords: number;
  readonly #maxBodyChars: number;
  /** entries[head..] are queued; entries[bodyScan..] may still hold bodies. */
  #entries: QueueEntry[] = [];
  #head = 0;
  #bodyScan = 0;
  #bodyChars = 0;
  droppedBodies = 0;
  droppedRecords = 0;

  constructor(maxRecords: number, maxBodyChars: number) {
    this.#maxRecords = Math.max(1, Math.floor(maxRecords));
    this.#maxBodyChars = Math.max(0, maxBodyChars);
  }

  get length(): number {
    return this.#entries.length - this.#head;
  }

  /** Queues one record (the queue owns it from here: its bodies may be cleared to shed memory). */
  push(record: RequestLogRecord): void {
    const bodyChars = recordBodyChars(record);
    this.#entries.push({ record, bodyChars });
    this.#bodyChars += bodyChars;
    if (this.#bodyChars > this.#maxBodyChars) this.#shedBodies();
    if (this.#entries.length - this.#head > this.#maxRecords) this.#shedRecords();
  }

  /** Removes and returns up to `max` of the oldest records. */
  take(max: number): RequestLogRecord[] {
    const end = Math.min(this.#entries.length, this.#head + Math.max(0, max));
    const records: RequestLogRecord[] = new Array(end - this.#head);
    for (let i = this.#head, j = 0; i < end; i++, j++) {
      const entry = this.#entries[i];
      this.#bodyChars -= entry.bodyChars;
      records[j] = entry.record;
    }
    this.#head = end;
    this.#compact();
    return records;
  }

  #shedBodies(): void {
    if (this.#bodyScan < this.#head) this.#bodyScan = this.#head;
    while (this.#bodyChars > this.#maxBodyChars && this.#bodyScan < this.#entries.length) {
      const entry = this.#entries[this.#bodyScan++];
      if (entry.bodyChars === 0) continue;
      entry.record.request_body = null;
      entry.record.response_body = null;
      this.#bodyChars -= entry.bodyChars;
      entry.bodyChars = 0;
      this.droppedBodies++;
    }
  }

  #shedRecords(): void {
    while (this.#entries.length - this.#head > this.#maxRecords) {
      const entry = this.#entries[this.#head++];
      this.#bodyChars -= entry.bodyChars;
      entry.record.request_body = null; // release it now; the slot goes at the next compaction
      entry.record.response_body = null;
      this.droppedRecords++;
    }
    this.#compact();
  }

  #compact(): void {
    if (this.#head === this.#entries.length) {
      this.#entries = [];
      this.#bodyScan = 0;
      this.#head = 0;
    } else if (this.#head >= COMPACT_AT && this.#head * 2 >= this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#bodyScan = Math.max(0, this.#bodyScan - this.#head);
      this.#head = 0;
    }
  }
}
