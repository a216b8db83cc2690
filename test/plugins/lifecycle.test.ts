/** The lifecycle runner alone: declared order, early answers, isolation (throw, timeout, refusal, fail closed), metrics. */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors/gateway-error.js';
import { RequestContext } from '../../src/gateway/request-context.js';
import { Lifecycle } from '../../src/plugins/lifecycle.js';
import { orderPlugins } from '../../src/plugins/order.js';
import { refuse, type ChatCompletionChunk, type Plugin, type RoutingStage } from '../../src/plugins/types.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { Metrics } from '../../src/telemetry/metrics.js';

function lifecycle(): { lifecycle: Lifecycle; metrics: Metrics } {
  const metrics = new Metrics({ processMetrics: false });
  return { lifecycle: new Lifecycle(createLogger({ level: 'silent' }), metrics), metrics };
}

const ctx = (): RequestContext => new RequestContext('req-1', 'openai', '/v1/chat/completions');
const STAGE = { model: 'm', targets: [], setRequest() {} } as unknown as RoutingStage;

describe('orderPlugins', () => {
  it('follows after/before, keeps the given order otherwise, ignores absent names, refuses cycles and twins', () => {
    const names = (list: Plugin[]): string[] => orderPlugins(list).map((p) => p.name);
    expect(names([{ name: 'a' }, { name: 'b' }, { name: 'c' }])).toEqual(['a', 'b', 'c']);
    expect(names([{ name: 'cache', after: ['governance'] }, { name: 'governance' }, { name: 'router', before: ['governance'], after: ['nobody'] }])).toEqual(['router', 'governance', 'cache']);
    expect(() => orderPlugins([{ name: 'a', after: ['b'] }, { name: 'b', after: ['a'] }])).toThrow(/cycle/);
    expect(() => orderPlugins([{ name: 'a' }, { name: 'a' }])).toThrow(/unique/);
  });
});

describe('Lifecycle', () => {
  it('a stage nobody listens to is an empty array; the first early answer ends beforeRouting', async () => {
    const { lifecycle: lc } = lifecycle();
    expect(lc.beforeRouting).toHaveLength(0);
    const calls: string[] = [];
    lc.setConfigured([
      { plugin: { name: 'one', beforeRouting: () => void calls.push('one') } },
      { plugin: { name: 'two', beforeRouting: async () => ({ response: { object: 'list', data: [], model: 'x', usage: { prompt_tokens: 0, total_tokens: 0 } } }) } },
      { plugin: { name: 'three', beforeRouting: () => void calls.push('three') } },
    ]);
    const c = ctx();
    const answer = await lc.runBeforeRouting(c, STAGE);
    expect(answer).toMatchObject({ response: { object: 'list' } });
    expect(c.answeredBy).toBe('two');
    expect(calls).toEqual(['one']);
  });

  it('a throw or a timeout is skipped and counted; a refusal is the answer; fail closed makes a failure the answer', async () => {
    const { lifecycle: lc, metrics } = lifecycle();
    const thrower: Plugin = { name: 'thrower', received: () => { throw new Error('boom'); } };
    const slow: Plugin = { name: 'slow', timeoutMs: 20, received: () => new Promise(() => undefined) };
    lc.setConfigured([{ plugin: thrower }, { plugin: slow }]);
    await lc.runReceived(ctx());
    const text = await metrics.registry.metrics();
    expect(text).toContain('heimdall_plugin_errors_total{plugin="thrower",stage="received"} 1');
    expect(text).toContain('heimdall_plugin_errors_total{plugin="slow",stage="received"} 1');

    lc.setConfigured([{ plugin: { name: 'guard', received: () => { throw refuse('no PII here', 422); } } }]);
    expect(() => lc.runReceived(ctx())).toThrow(expect.objectContaining({ code: 'HD_ERR_PLUGIN_REFUSED', status: 422, message: 'no PII here' }));

    lc.setConfigured([{ plugin: slow, settings: { failClosed: true } }]);
    await expect(lc.runReceived(ctx())).rejects.toBeInstanceOf(GatewayError);
    await expect(lc.runReceived(ctx())).rejects.toMatchObject({ code: 'HD_ERR_PLUGIN_FAILED', status: 500 });
  });

  it('stream events: replaced, dropped, or kept when a plugin throws', () => {
    const { lifecycle: lc } = lifecycle();
    const chunk = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: 'a@b.example' }, finish_reason: null }] } as ChatCompletionChunk;
    lc.setConfigured([
      { plugin: { name: 'broken', streamEvent: () => { throw new Error('x'); } } },
      { plugin: { name: 'upper', streamEvent: (_r, c) => ({ ...c, choices: [{ ...c.choices[0], delta: { content: 'REDACTED' } }] }) } },
    ]);
    expect(lc.runStreamEvent(ctx(), chunk)?.choices[0].delta.content).toBe('REDACTED');
    lc.setConfigured([{ plugin: { name: 'drop', streamEvent: () => null } }]);
    expect(lc.runStreamEvent(ctx(), chunk)).toBeNull();
  });

  it('a configured set with a cycle is refused and the previous set stays', () => {
    const { lifecycle: lc } = lifecycle();
    lc.setConfigured([{ plugin: { name: 'a' } }]);
    expect(() => lc.setConfigured([{ plugin: { name: 'x', after: ['y'] } }, { plugin: { name: 'y', after: ['x'] } }])).toThrow(/cycle/);
    expect(lc.names()).toEqual(['a']);
  });
});
