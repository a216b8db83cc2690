/**
 * Built-in plugin `request-log` (when a store is wired): bodies captured at
 * `begin` when `logging.bodies` is on, one record queued per finished request
 * at `afterResponse`, after governance (which prices it and numbers spend).
 */
import { startCapture, toLogRecord } from '../store/request-logging.js';
import type { RequestLogWriter } from '../store/log-writer.js';
import type { LogSequence } from '../store/spend-watermark.js';
import type { BuiltinPlugin } from './lifecycle.js';
import { contextOf } from './request-view.js';

export function requestLogPlugin(logs: RequestLogWriter, sequence?: LogSequence): BuiltinPlugin {
  return {
    name: 'request-log',
    after: ['governance'],
    begin(ctx, _request, body, response) {
      const bodies = logs.bodyOptions;
      if (bodies.enabled) startCapture(ctx, body, response, bodies.maxBytes);
    },
    afterResponse(request, completed) {
      const record = toLogRecord({ ctx: contextOf(request), totalMs: completed.timings.totalMs, overheadMs: completed.timings.overheadMs });
      // Numbered in the same step as the spend ledger charged it (governance runs just before).
      if (sequence !== undefined) record.seq = sequence.next();
      logs.enqueue(record);
    },
  };
}
