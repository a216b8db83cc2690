/** Small helpers the browser tests share: polling, JSON reads and one chat call through the gateway. */
import type { TestGateway } from '../../support/gateway.js';

/** expect.poll's bound: the dashboard refreshes every few seconds. */
export const POLL = { timeout: 15_000 };

/** Polls until `check` resolves to a value other than undefined/false. */
export async function until<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const response = await fetch(url, { headers });
  if (!response.ok) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** A management API call that must succeed. */
export async function apiCall<T>(gateway: TestGateway, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${gateway.url}/api${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} /api${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** A management API call with a Bearer token (the admin token) that must succeed. */
export async function adminCall<T>(gateway: TestGateway, token: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${gateway.url}/api${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} /api${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export async function chat(gateway: TestGateway, model: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hello from the browser test' }] }),
  });
}
