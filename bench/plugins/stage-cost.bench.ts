/**
 * What a plugin that does nothing costs per stage: the lifecycle runner with no
 * plugin, with one no-op plugin, and with ten, per stage call (timing, metrics
 * and isolation included). Run alone, in-process:
 *
 *   npx vitest bench --run bench/plugins/stage-cost.bench.ts
 */
import { bench, describe } from 'vitest';
import { RequestContext } from '../../src/gateway/request-context.js';
import { Lifecycle } from '../../src/plugins/lifecycle.js';
import { CompletedImpl, timingsOf } from '../../src/plugins/stages.js';
import type { ChatCompletionChunk, Plugin, RoutingStage } from '../../src/plugins/types.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { Metrics } from '../../src/telemetry/metrics.js';

const noop = (name: string): Plugin => ({
  name,
  received() {},
  beforeRouting() {},
  beforeAttempt() {},
  streamEvent() {},
  finalAnswer() {},
  afterResponse() {},
});

function lifecycleWith(count: number): Lifecycle {
  const lifecycle = new Lifecycle(createLogger({ level: 'silent' }), new Metrics({ processMetrics: false }));
  lifecycle.setConfigured(Array.from({ length: count }, (_, i) => ({ plugin: noop(`noop-${i}`) })));
  return lifecycle;
}

const stage = { model: 'm', targets: [], setRequest() {} } as unknown as RoutingStage;
const chunk = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: 'x' }, finish_reason: null }] } as ChatCompletionChunk;
const ctx = new RequestContext('bench', 'openai', '/v1/chat/completions');
const completed = new CompletedImpl(ctx, timingsOf(ctx, 1));

for (const count of [0, 1, 10]) {
  const lifecycle = lifecycleWith(count);
  describe(`${count} no-op plugin${count === 1 ? '' : 's'}`, () => {
    bench('received', () => {
      if (lifecycle.received.length > 0) lifecycle.runReceived(ctx);
    });
    bench('beforeRouting', () => {
      if (lifecycle.beforeRouting.length > 0) lifecycle.runBeforeRouting(ctx, stage);
    });
    bench('streamEvent', () => {
      if (lifecycle.streamEvent.length > 0) lifecycle.runStreamEvent(ctx, chunk);
    });
    bench('afterResponse', () => {
      if (lifecycle.afterResponse.length > 0) lifecycle.runAfterResponse(ctx, completed);
    });
  });
}
