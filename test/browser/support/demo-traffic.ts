/**
 * A believable workload for the README screenshots and the visual review:
 * teams, customers, virtual keys, a second OpenAI key and a model group made
 * through the management API, then a few hundred real calls through the
 * gateway (OpenAI and Anthropic surfaces, streamed and not, several providers
 * and models) spread over a few minutes with a rising and falling rate.
 *
 * Nothing is written into the store directly: every number the dashboard shows
 * comes from calls that went through the gateway. The mock upstream answers at
 * once, so each call first queues a mock behaviour (path-filtered, so it lands on
 * the right provider) that gives it a provider-like delay, a slow stream or,
 * now and then, an upstream error. Deterministic (seeded), so runs look alike.
 */
import type { MockUpstream } from '../../support/mock-upstream/index.js';

export interface DemoKey {
  id: string;
  name: string;
  secret: string;
}

export interface Demo {
  keys: DemoKey[];
  teams: Record<string, string>;
  customers: Record<string, string>;
}

interface Target {
  model: string;
  /** Mock path the call reaches (behaviours are queued for it). */
  path: string | RegExp;
  share: number;
  /** Typical upstream latency, ms. */
  latency: number;
  /** Sent through /anthropic/v1/messages some of the time. */
  anthropic?: boolean;
}

const OPENAI_PATH = '/v1/chat/completions';
const TARGETS: Target[] = [
  { model: 'openai/gpt-4o-mini', path: OPENAI_PATH, share: 0.3, latency: 650 },
  { model: 'anthropic/claude-sonnet-4-5', path: '/v1/messages', share: 0.17, latency: 1500, anthropic: true },
  { model: 'gemini/gemini-2.5-flash', path: /^\/v1beta\/models\/gemini-2\.5-flash:/, share: 0.16, latency: 800 },
  { model: 'anthropic/claude-haiku-4-5', path: '/v1/messages', share: 0.1, latency: 700, anthropic: true },
  { model: 'openai/gpt-4o', path: OPENAI_PATH, share: 0.09, latency: 1100 },
  { model: 'mistral/mistral-small-latest', path: OPENAI_PATH, share: 0.08, latency: 550 },
  { model: 'smart', path: OPENAI_PATH, share: 0.1, latency: 1000 },
];

/** The environment for mistral (OpenAI-compatible) pointed at the mock, next to mockProviderEnv's natives. */
export function demoEnv(mock: MockUpstream): Record<string, string> {
  return {
    OPENAI_API_KEY: 'sk-mock-openai-primary',
    OPENAI_BASE_URL: mock.openaiBaseUrl,
    ANTHROPIC_API_KEY: 'sk-ant-mock-demo',
    ANTHROPIC_BASE_URL: mock.url,
    GEMINI_API_KEY: 'gemini-mock-demo',
    GEMINI_BASE_URL: mock.url,
    MISTRAL_API_KEY: 'mistral-mock-demo',
    MISTRAL_BASE_URL: mock.url,
  };
}

/** A deterministic pseudo-random sequence (Park–Miller). */
export function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 16807) % 2147483647;
    return state / 2147483647;
  };
}

const WORDS = (
  'the gateway routes each call to a provider with load balancing fallbacks budgets and rate limits ' +
  'summarise this support ticket and suggest a reply classify the intent extract the order number ' +
  'translate the product description into french write a short friendly answer about shipping times ' +
  'review this pull request for security issues list the risky lines explain why'
).split(' ');

function words(next: () => number, count: number): string {
  const out: string[] = [];
  for (let index = 0; index < count; index++) out.push(WORDS[Math.floor(next() * WORDS.length)]);
  return out.join(' ');
}

async function api<T>(url: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${url}/api${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} /api${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** Teams, customers, keys, a second OpenAI key, a model group, an alias and a fallback: all through /api. */
export async function setupDemo(url: string): Promise<Demo> {
  const customers: Record<string, string> = {};
  for (const customer of [
    { name: 'acme-corp', description: 'Enterprise plan', budget: { max_usd: 50, period: 'monthly' } },
    { name: 'globex', description: 'Trial, paused', budget: { max_usd: 5, period: 'monthly' }, status: 'disabled' },
  ]) {
    customers[customer.name] = (await api<{ id: string }>(url, 'POST', '/customers', customer)).id;
  }
  const teams: Record<string, string> = {};
  for (const team of [
    { name: 'product', description: 'Customer-facing features', budget: { max_usd: 25, period: 'monthly' }, rate_limits: [{ model: '*', requests: 600, window: '1m' }] },
    { name: 'data', description: 'Batch jobs and evaluations', budget: { max_usd: 10, period: 'monthly' } },
  ]) {
    teams[team.name] = (await api<{ id: string }>(url, 'POST', '/teams', team)).id;
  }
  const keys: DemoKey[] = [];
  for (const key of [
    { name: 'web-app', team_id: teams.product, budget: { max_usd: 5, period: 'monthly' }, rate_limits: [{ model: '*', requests: 120, window: '1m' }] },
    { name: 'support-bot', team_id: teams.product, customer_id: customers['acme-corp'], budget: { max_usd: 1.5, period: 'weekly' } },
    { name: 'batch-jobs', team_id: teams.data, budget: { max_usd: 0.3, period: 'daily' } },
    { name: 'eval-runner', team_id: teams.data },
  ]) {
    const created = await api<{ id: string; key: string; name: string }>(url, 'POST', '/virtual-keys', key);
    keys.push({ id: created.id, name: created.name, secret: created.key });
  }
  await api(url, 'POST', '/providers/openai/keys', { name: 'backup', api_key: 'sk-mock-openai-backup', weight: 1 });
  await api(url, 'POST', '/routing/model-groups', {
    name: 'smart',
    deployments: [
      { provider: 'openai', model: 'gpt-4o', weight: 3 },
      { provider: 'anthropic', model: 'claude-sonnet-4-5', weight: 1 },
    ],
    fallbacks: ['gemini/gemini-2.5-flash'],
  });
  await api(url, 'PUT', '/routing/aliases/fast', { target: 'gemini/gemini-2.5-flash' });
  await api(url, 'PUT', `/routing/fallbacks/${encodeURIComponent('openai/gpt-4o-mini')}`, { fallbacks: ['gemini/gemini-2.5-flash'] });
  return { keys, teams, customers };
}

export interface TrafficResult {
  sent: number;
  statuses: Record<number, number>;
}

/**
 * Sends about `total` calls over `durationMs`, the rate following a slow wave
 * with a burst two thirds of the way, spread over the demo keys.
 */
export async function runTraffic(url: string, mock: MockUpstream, demo: Demo, options: { durationMs: number; total: number; seed?: number }): Promise<TrafficResult> {
  const next = seeded(options.seed ?? 11);
  const { durationMs, total } = options;
  // Arrival times: a rate curve sampled by inverse transform (deterministic).
  const rate = (t: number): number => 1 + 0.45 * Math.sin(t * Math.PI * 3.2) + 0.9 * Math.exp(-(((t - 0.68) / 0.06) ** 2)) + 0.25 * Math.sin(t * 37);
  const steps = 2000;
  const cumulative: number[] = [0];
  for (let index = 1; index <= steps; index++) cumulative.push(cumulative[index - 1] + Math.max(0.05, rate(index / steps)));
  const area = cumulative[steps];
  const times: number[] = [];
  for (let index = 0; index < total; index++) {
    const target = ((index + next()) / total) * area;
    let step = 1;
    while (cumulative[step] < target) step++;
    times.push((step / steps) * durationMs);
  }
  // Key weights: web-app busiest, eval-runner least.
  const keyShares = [0.38, 0.27, 0.22, 0.13];
  const pickKey = (): DemoKey => {
    let pick = next();
    for (let index = 0; index < demo.keys.length; index++) {
      pick -= keyShares[index] ?? 0;
      if (pick <= 0) return demo.keys[index];
    }
    return demo.keys[demo.keys.length - 1];
  };
  const pickTarget = (): Target => {
    let pick = next();
    for (const target of TARGETS) {
      pick -= target.share;
      if (pick <= 0) return target;
    }
    return TARGETS[0];
  };

  const statuses: Record<number, number> = {};
  const start = Date.now();
  const pending: Array<Promise<void>> = [];
  for (let index = 0; index < total; index++) {
    const wait = start + times[index] - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const target = pickTarget();
    const key = pickKey();
    const stream = next() < 0.4;
    const progress = times[index] / durationMs;
    const roll = next();
    // A slow patch for Anthropic near the burst, and a few errors of each kind.
    const slow = target.path === '/v1/messages' && progress > 0.6 && progress < 0.78 ? 1.8 : 1;
    const latency = Math.round(target.latency * slow * (0.55 + next() * 0.9));
    if (roll < 0.012) mock.enqueue({ kind: 'error', status: 400, body: { error: { message: "This model's maximum context length is 128000 tokens.", type: 'invalid_request_error', code: 'context_length_exceeded' } } }, { path: target.path });
    else if (roll < 0.03) mock.enqueue({ kind: 'error', status: 503 }, { path: target.path, times: 3 });
    else if (roll < 0.05) mock.enqueue({ kind: 'error', status: 429, headers: { 'retry-after': '0' } }, { path: target.path });
    // A delay, not a slow stream: behaviours queue per path, and a delay works for either kind of call that takes it.
    else mock.enqueue({ kind: 'delay', ms: stream ? Math.round(latency * 0.4) : latency }, { path: target.path });
    const system = words(next, 120 + Math.floor(next() * 1400));
    const user = words(next, 40 + Math.floor(next() * 320));
    const unknownModel = next() < 0.006;
    pending.push(
      send(url, key, unknownModel ? 'gpt-5-ultra' : target.model, system, user, stream, target.anthropic === true && next() < 0.5).then((status) => {
        statuses[status] = (statuses[status] ?? 0) + 1;
      }),
    );
  }
  await Promise.all(pending);
  return { sent: total, statuses };
}

async function send(url: string, key: DemoKey, model: string, system: string, user: string, stream: boolean, anthropicSurface: boolean): Promise<number> {
  try {
    const response = anthropicSurface
      ? await fetch(`${url}/anthropic/v1/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': key.secret, 'anthropic-version': '2023-06-01' },
          body: JSON.stringify({ model, max_tokens: 1024, system, stream, messages: [{ role: 'user', content: user }] }),
        })
      : await fetch(`${url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key.secret}` },
          body: JSON.stringify({
            model,
            stream,
            ...(stream ? { stream_options: { include_usage: true } } : {}),
            messages: [
              { role: 'system', content: system },
              { role: 'user', content: user },
            ],
          }),
        });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}
