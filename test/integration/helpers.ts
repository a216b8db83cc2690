/**
 * Small helpers shared by the integration tests: an SDK client pointed at a
 * gateway, raw HTTP calls for malformed input and header checks, SSE parsing,
 * and a bounded poll.
 */
import OpenAI from 'openai';
import { request } from 'undici';
import { expect } from 'vitest';
import { SseParser, type SseEvent } from '../../src/gateway/sse.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';

/** The official SDK against the gateway; no SDK retries, so attempts are the gateway's own. */
export function sdk(baseUrl: string, options: { apiKey?: string; timeoutMs?: number } = {}): OpenAI {
  return new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: options.apiKey ?? 'client-key', maxRetries: 0, timeout: options.timeoutMs ?? 15_000 });
}

export interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** `text` parsed as JSON (undefined when it is not JSON). */
  json: unknown;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** POST with a JSON body (an object is serialised, a string is sent as it is). */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<RawReply> {
  const response = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text, json: parseJson(text) };
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<RawReply> {
  const response = await request(url, { method: 'GET', headers });
  const text = await response.body.text();
  return { status: response.statusCode, headers: response.headers, text, json: parseJson(text) };
}

/** Every SSE event of a complete stream body. */
export function sseEvents(text: string): SseEvent[] {
  const parser = new SseParser();
  return [...parser.push(text), ...parser.end()];
}

/** Polls `check` every 20 ms until it returns true; throws after `timeoutMs`. */
export async function waitFor(check: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** An OpenAI error body as the gateway renders it. */
export function openaiError(message: string | RegExp, type: string, code: string | null, param: string | null = null): unknown {
  return { error: { message: typeof message === 'string' ? message : expect.stringMatching(message), type, param, code } };
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The body of the one provider call the mock received (Vertex token calls aside); fails when there were others. */
export function onlyUpstreamBody(mock: MockUpstream): Record<string, unknown> {
  const calls = mock.requests.filter((r) => r.path !== '/token');
  expect(calls).toHaveLength(1);
  return calls[0].body as Record<string, unknown>;
}
