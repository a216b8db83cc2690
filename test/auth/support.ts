/** Helpers of the users-and-roles tests: Fastify's route list, users made through the API, sign-in cookies. */
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';

export const ADMIN_TOKEN = 'admin-token-for-role-tests-7c1e90aa';
export const PASSWORD = 'correct horse battery staple';
/** Not loopback: no request here passes by the zero-config loopback rule. */
export const REMOTE = '192.0.2.44';

/** Every route under /api as "METHOD /api/path", read from Fastify's own route tree (printRoutes). */
export function apiRoutes(app: FastifyInstance): string[] {
  const stack: string[] = [];
  const routes: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const at = line.indexOf('── ');
    if (at === -1) continue;
    const depth = (at - 1) / 4;
    const match = /^(\S+)(?: \(([^)]*)\))?/.exec(line.slice(at + 3));
    if (match === null) continue;
    const path = (depth === 0 ? '' : stack[depth - 1]) + match[1];
    stack[depth] = path;
    stack.length = depth + 1;
    if (match[2] === undefined || !path.startsWith('/api/')) continue;
    for (const method of match[2].split(', ')) if (method !== 'HEAD') routes.push(`${method} ${path}`);
  }
  return routes.sort();
}

export interface Answer {
  status: number;
  json: any;
  headers: Record<string, string | string[] | number | undefined>;
}

export async function inject(app: FastifyInstance, method: string, url: string, options: { body?: unknown; cookie?: string; bearer?: string; remote?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.cookie !== undefined) headers.cookie = options.cookie;
  if (options.bearer !== undefined) headers.authorization = `Bearer ${options.bearer}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const reply = await app.inject({
    method: method as 'GET', url, headers, remoteAddress: options.remote ?? REMOTE,
    payload: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  let json: unknown;
  try {
    json = reply.json();
  } catch {
    json = undefined;
  }
  return { status: reply.statusCode, json, headers: reply.headers };
}

export async function createUser(app: FastifyInstance, body: Record<string, unknown>): Promise<{ id: string; username: string }> {
  const answer = await inject(app, 'POST', '/api/users', { bearer: ADMIN_TOKEN, body: { password: PASSWORD, ...body } });
  expect(answer.status, JSON.stringify(answer.json)).toBe(201);
  return answer.json;
}

/** Signs in with a password; returns the cookie to send back. */
export async function login(app: FastifyInstance, username: string, password = PASSWORD, remote = REMOTE): Promise<string> {
  const answer = await inject(app, 'POST', '/api/auth/login', { body: { username, password }, remote });
  expect(answer.status, JSON.stringify(answer.json)).toBe(200);
  return String(answer.headers['set-cookie']).split(';')[0];
}
