/**
 * Which of the caller's request headers go upstream with a call in the
 * caller's own wire format (Anthropic SDK -> Anthropic, Gen AI SDK -> Gemini,
 * OpenAI SDK -> an OpenAI-compatible provider): the format's protocol headers
 * by default (DEFAULT_FORWARD_HEADERS, or the provider definition's own list),
 * widened by a provider's `forward_headers.allow` and narrowed by its
 * `forward_headers.deny` (deny wins). A name may end in `*` to match a prefix.
 *
 * Never forwarded, whatever the lists say: credentials (the caller's key is a
 * Heimdall key, the provider gets the configured one), cookies, hop-by-hop and
 * framing headers (RFC 9110 §7.6.1), and Heimdall's own `x-heimdall-*`.
 *
 * `openai-organization` and `openai-project` are not forwarded by default:
 * they pick the account a call is billed to, and the provider key is the
 * gateway's, so a caller's value would be refused or, worse, bill another
 * project. An operator who wants them adds them to `allow`.
 *
 * Merging: the caller's `anthropic-beta` list is joined to the one the
 * provider sends anyway (its `beta` option), without repeats; any other
 * forwarded header replaces the provider's default (the body is in the
 * caller's protocol version). A provider's configured `headers` are applied
 * last and win.
 * @see https://docs.anthropic.com/en/api/beta-headers
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-7.6.1
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { WireFormat } from '../formats/types.js';

export const DEFAULT_FORWARD_HEADERS: Readonly<Record<WireFormat, readonly string[]>> = {
  openai: ['openai-beta'],
  anthropic: ['anthropic-beta', 'anthropic-version'],
  gemini: ['x-goog-api-client'],
  bedrock: [],
  cohere: [],
};

/** Never forwarded: credentials, cookies, hop-by-hop and framing headers. */
const NEVER: ReadonlySet<string> = new Set([
  'authorization', 'proxy-authorization', 'x-api-key', 'api-key', 'x-goog-api-key', 'x-amz-security-token',
  'cookie', 'set-cookie',
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host',
  'content-length', 'content-type', 'content-encoding', 'accept-encoding', 'expect', 'x-request-id',
]);
const NEVER_PREFIXES: readonly string[] = ['x-heimdall-', 'proxy-'];

/** Headers whose value is a comma-separated list the provider's and the caller's values share. */
const LIST_HEADERS: ReadonlySet<string> = new Set(['anthropic-beta']);

/** True for a header no configuration may forward. */
export function isNeverForwarded(name: string): boolean {
  const lower = name.toLowerCase();
  return NEVER.has(lower) || NEVER_PREFIXES.some((prefix) => lower.startsWith(prefix));
}

function splitPatterns(patterns: readonly string[]): { exact: Set<string>; prefixes: string[] } {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const raw of patterns) {
    const pattern = raw.toLowerCase();
    if (pattern.endsWith('*')) prefixes.push(pattern.slice(0, -1));
    else exact.add(pattern);
  }
  return { exact, prefixes };
}

function joinList(...values: Array<string | undefined>): string {
  const seen = new Set<string>();
  for (const value of values) {
    if (value === undefined) continue;
    for (const item of value.split(',')) {
      const trimmed = item.trim();
      if (trimmed !== '') seen.add(trimmed);
    }
  }
  return [...seen].join(',');
}

function headerValue(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Headers the caller's Connection header names are hop-by-hop too (the usual bare keep-alive/close names none). */
function connectionTokens(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined || value === 'keep-alive' || value === 'close') return undefined;
  return headerValue(value)!.toLowerCase().split(',').map((token) => token.trim());
}

/** One provider's forwarding rule, computed once per configuration (the request path only looks up). */
export class HeaderForwarding {
  /** Exact names that pass (defaults and allow, minus deny and the never-list). */
  private readonly exact: readonly string[];
  private readonly allowPrefixes: readonly string[];
  private readonly denyExact: ReadonlySet<string>;
  private readonly denyPrefixes: readonly string[];

  constructor(defaults: readonly string[], allow: readonly string[] = [], deny: readonly string[] = []) {
    const allowed = splitPatterns([...defaults, ...allow]);
    const denied = splitPatterns(deny);
    this.denyExact = denied.exact;
    this.denyPrefixes = denied.prefixes;
    this.exact = [...allowed.exact].filter((name) => !this.denied(name));
    this.allowPrefixes = allowed.prefixes;
  }

  private denied(name: string): boolean {
    return isNeverForwarded(name) || this.denyExact.has(name) || this.denyPrefixes.some((prefix) => name.startsWith(prefix));
  }

  /**
   * The caller's `anthropic-beta` list, for a provider that serves Claude in another wire format
   * (Bedrock Converse takes it as `additionalModelRequestFields.anthropic_beta`); undefined when
   * the caller sent none or the provider's `forward_headers.deny` names it.
   */
  anthropicBetas(client: IncomingHttpHeaders | undefined): string[] | undefined {
    const value = client === undefined || this.denied('anthropic-beta') ? undefined : headerValue(client['anthropic-beta']);
    if (value === undefined) return undefined;
    const betas = joinList(value);
    return betas === '' ? undefined : betas.split(',');
  }

  /** Copies the caller's forwardable headers onto `upstream` (lower-case names, as Node gives them). */
  apply(client: IncomingHttpHeaders, upstream: Record<string, string>): void {
    const hopByHop = connectionTokens(client.connection);
    for (const name of this.exact) if (hopByHop?.includes(name) !== true) this.copy(name, client[name], upstream);
    if (this.allowPrefixes.length === 0) return;
    for (const [name, value] of Object.entries(client)) {
      if (!this.allowPrefixes.some((prefix) => name.startsWith(prefix)) || this.denied(name)) continue;
      if (hopByHop?.includes(name) === true || this.exact.includes(name)) continue;
      this.copy(name, value, upstream);
    }
  }

  private copy(name: string, raw: string | string[] | undefined, upstream: Record<string, string>): void {
    const value = headerValue(raw);
    if (value === undefined || value === '') return;
    upstream[name] = LIST_HEADERS.has(name) ? joinList(upstream[name], value) : value;
  }
}
