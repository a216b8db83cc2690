/**
 * Which telemetry settings change while the gateway runs: the trace sample
 * ratio follows a configuration change (the config file's watcher calls
 * reloadFileText); the others shape what was loaded at start (the SDK, the
 * exporters, the label sets of the metrics, the log stream), so a change to
 * them is logged as applying at the next start and changes nothing now. The
 * management API does not take telemetry settings and says why.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { startMockUpstream, type MockUpstream } from '../support/mock-upstream/index.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';
import { post, waitFor } from '../integration/helpers.js';
import { samplesOf, scrape } from './helpers.js';

const SERVER = 2;
const messages = [{ role: 'user', content: 'sample me' }];
let mock: MockUpstream;
let otlp: OtlpReceiver;
let gateway: TestGateway;
let counter = 0;

function config(telemetry: Record<string, unknown>): Record<string, unknown> {
  return {
    providers: { openai: { api_key: 'sk-live-settings-0123456789', base_url: mock.openaiBaseUrl, max_retries: 0 } },
    telemetry: { otlp: { endpoint: otlp.url }, ...telemetry },
  };
}

beforeAll(async () => {
  mock = await startMockUpstream();
  otlp = await startOtlpReceiver();
  gateway = await startGateway({ config: config({ tracing: { sample_ratio: 1 } }) });
});
afterAll(async () => {
  await gateway.close();
  await otlp.close();
  await mock.close();
});

/** Sends a chat request; returns the trace id from its log line. */
async function chat(headers: Record<string, string> = {}): Promise<string> {
  const id = `live-${++counter}`;
  const reply = await post(`${gateway.url}/v1/chat/completions`, { model: 'openai/gpt-4o-mini', messages }, { 'x-request-id': id, ...headers });
  expect(reply.status).toBe(200);
  await waitFor(() => gateway.logs().some((l) => l.msg === 'request' && l.request_id === id), 5000, `the log line of ${id}`);
  return gateway.logs().find((l) => l.msg === 'request' && l.request_id === id)!.trace_id as string;
}

/** Whether the trace was exported: a sampled request sent after it is flushed first, so the answer is final. */
async function exported(traceId: string): Promise<boolean> {
  const marker = `${(++counter).toString(16).padStart(32, 'a')}`.slice(-32);
  await chat({ traceparent: `00-${marker}-${'b'.repeat(16)}-01` });
  await gateway.app.telemetry.flush();
  await otlp.waitForSpans((all) => all.some((s) => s.traceId === marker && s.kind === SERVER));
  return otlp.spans.some((s) => s.traceId === traceId);
}

describe('telemetry settings at run time', () => {
  it('tracing.sample_ratio applies to the next request after the config file changes', async () => {
    expect(await exported(await chat())).toBe(true);

    expect(gateway.app.configService.reloadFileText(JSON.stringify(config({ tracing: { sample_ratio: 0 } })))).toBe(true);
    expect(gateway.logs().find((l) => l.msg === 'tracing sample ratio changed')).toMatchObject({ from: 1, to: 0 });
    const dropped = await chat();
    expect(dropped).toMatch(/^[0-9a-f]{32}$/); // still a trace id to log and pass upstream, just not recorded
    expect(await exported(dropped)).toBe(false);
    // A caller's sampled trace is still followed.
    const caller = 'c'.repeat(32);
    await chat({ traceparent: `00-${caller}-${'d'.repeat(16)}-01` });
    expect(await exported(caller)).toBe(true);

    gateway.app.configService.reloadFileText(JSON.stringify(config({ tracing: { sample_ratio: 1 } })));
    expect(await exported(await chat())).toBe(true);
  });

  it('a start-only setting (virtual_key_labels) is logged as applying at the next start, and changes nothing now', async () => {
    const before = gateway.logs().length;
    expect(gateway.app.configService.reloadFileText(JSON.stringify(config({ metrics: { virtual_key_labels: true } })))).toBe(true);
    const warning = gateway.logs().slice(before).find((l) => l.level === 'warn' && String(l.msg).startsWith('telemetry settings changed'));
    expect(warning).toMatchObject({ settings: ['metrics (process_metrics, virtual_key_labels, OTLP export)'] });
    await chat();
    const metrics = await scrape(gateway.url);
    expect(samplesOf(metrics, 'heimdall_requests_total').length).toBeGreaterThan(0);
    for (const sample of samplesOf(metrics, 'heimdall_requests_total')) expect(sample.labels.virtual_key).toBeUndefined();
    // Said once, not on every later change.
    gateway.app.configService.reloadFileText(JSON.stringify(config({ metrics: { virtual_key_labels: true }, tracing: { sample_ratio: 1 } })));
    expect(gateway.logs().slice(before).filter((l) => String(l.msg).startsWith('telemetry settings changed'))).toHaveLength(1);
  });

  it('PATCH /api/settings refuses telemetry settings and says where they live', async () => {
    const patched = await request(`${gateway.url}/api/settings`, {
      method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ telemetry: { tracing: { sample_ratio: 0.5 } } }),
    });
    const body = (await patched.body.json()) as { error: { param: string; message: string } };
    expect(patched.statusCode).toBe(400);
    expect(body.error.param).toBe('telemetry');
    expect(body.error.message).toMatch(/config file and the OTEL_\* environment: telemetry\.tracing\.sample_ratio applies when the file changes/);
  });
});
