/**
 * The one place that knows what a credential looks like. Masking credentials
 * inside free text: an upstream error message may echo the key it was sent, a
 * transport error may quote a header. Two nets: key-shaped strings (vendor
 * prefixes, `Bearer ...`), and the exact secrets this process was configured
 * with (keys without a recognisable shape, such as Mistral's, or an OTLP
 * vendor header). Log lines, traces, the management API (routing health,
 * provider tests) and stored request bodies (store/redact.ts, which adds the
 * structural net for JSON keys) all mask through this module.
 */
import type { ResolvedConfig } from '../config/load.js';
import { authSecrets } from '../auth/config.js';

const REDACTED = '[redacted]';

/**
 * Vendor key shapes: OpenAI/Anthropic `sk-`, Heimdall `hk-`, `pk-`/`rk-`, xAI `xai-`, Groq `gsk_`,
 * Google `AIza` and OAuth `ya29.`, GitHub `ghp_`/`github_pat_`, AWS access key ids, and
 * `Bearer`/`Basic` credentials. A separator and a length floor keep prose ("sk-learn", "skip") intact.
 */
const KEY_SHAPES = /\b(?:(?:sk|hk|pk|rk|xai|sess)[-_][A-Za-z0-9_-]{12,}|gsk_[A-Za-z0-9]{12,}|AIza[0-9A-Za-z_-]{20,}|ya29\.[0-9A-Za-z._-]{16,}|ghp_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|A(?:KIA|SIA)[0-9A-Z]{16})|\b(?:Bearer|Basic)\s+[-._~+/A-Za-z0-9]{8,}=*/g;

/** Credentials in a quoted URL's query (`?key=...`, Gemini's old style; signed URLs). */
const QUERY_SECRETS = /([?&](?:key|api[_-]?key|access_token|token|sig|signature|x-goog-api-key)=)[^&#\s"']+/gi;

/** Shorter values are not treated as secrets: masking every "default" or "none" would garble messages. */
const MIN_SECRET_LENGTH = 8;

const known = new Set<string>();
let knownPattern: RegExp | undefined;
/** Counts the changes of `known`, so a copy in another thread (the log writer's) knows when to refresh. */
let generation = 0;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Adds secrets to mask wherever they appear in text that is logged or returned (process-wide). */
export function registerSecrets(secrets: Iterable<string | undefined>): void {
  let added = false;
  for (const secret of secrets) {
    if (secret === undefined || secret.length < MIN_SECRET_LENGTH || known.has(secret)) continue;
    known.add(secret);
    added = true;
  }
  if (!added) return;
  generation++;
  // Longest first, so that a secret containing another is masked whole.
  const alternatives = [...known].sort((a, b) => b.length - a.length).map(escapeRegExp);
  knownPattern = new RegExp(`(?:\\b(Bearer|Basic)\\s+)?(?:${alternatives.join('|')})`, 'g');
}

/** The registered secrets, for a thread that redacts too (the request log writer's); see secretsGeneration(). */
export function knownSecrets(): string[] {
  return [...known];
}

/** Changes whenever a secret is registered. */
export function secretsGeneration(): number {
  return generation;
}

/** Header names whose values are credentials (other extra headers, like x-team, are not masked). */
const SECRET_HEADER = /auth|key|token|secret|cookie|signature|password|credential/i;

/** Every secret a resolved configuration holds: provider keys, header values, OTLP headers. */
export function configSecrets(config: ResolvedConfig): string[] {
  const secrets: string[] = [];
  for (const provider of config.providers) {
    for (const key of provider.keys) if (key.secret !== undefined) secrets.push(key.secret);
    for (const [name, value] of Object.entries(provider.headers)) if (SECRET_HEADER.test(name)) secrets.push(value);
  }
  for (const key of config.governance?.virtualKeys ?? []) secrets.push(key.key); // virtual keys declared in the file
  secrets.push(...authSecrets(config.auth));
  const telemetry = config.telemetry;
  if (telemetry !== undefined) {
    secrets.push(...Object.values(telemetry.tracing?.headers ?? {}), ...Object.values(telemetry.metrics.otlp?.headers ?? {}));
  }
  return secrets;
}

const ONE_KEY_SHAPE = new RegExp(`^(?:${KEY_SHAPES.source})$`);

/**
 * True when `value` as a whole is a configured secret or has a key's shape. Such a value is never
 * taken as an identifier that gets logged and echoed (a caller's x-request-id): a new id is made instead.
 */
export function isSecretValue(value: string): boolean {
  return known.has(value) || ONE_KEY_SHAPE.test(value);
}

/** Written the way the shape net writes it: `Bearer [redacted]`, `sk-...[redacted]`, else `[redacted]`. */
function maskKnown(match: string, scheme: string | undefined): string {
  if (scheme !== undefined) return `${scheme} ${REDACTED}`;
  return ONE_KEY_SHAPE.test(match) ? `${match.slice(0, 3)}...${REDACTED}` : REDACTED;
}

type Replacer = (match: string, scheme?: string) => string;

/** The three nets in order: configured secrets, credentials in URL queries, key shapes. */
function replaceCredentials(text: string, known: Replacer, query: string, shape: Replacer): string {
  let out = text;
  if (knownPattern !== undefined) {
    knownPattern.lastIndex = 0;
    if (knownPattern.test(out)) out = out.replace(knownPattern, known);
    knownPattern.lastIndex = 0;
  }
  if (out.includes('=')) out = out.replace(QUERY_SECRETS, `$1${query}`);
  return out.replace(KEY_SHAPES, shape);
}

/** Masks anything that looks like, or is, a credential (`sk-...[redacted]`, `Bearer [redacted]`: the kind stays readable). */
export function redactText(text: string): string {
  return replaceCredentials(text, maskKnown, REDACTED, (match) => {
    if (match.startsWith('Bearer')) return `Bearer ${REDACTED}`;
    if (match.startsWith('Basic')) return `Basic ${REDACTED}`;
    return `${match.slice(0, 3)}...${REDACTED}`;
  });
}

/**
 * Replaces every credential in `text` (configured secrets, key shapes, URL query credentials) with
 * `marker` as a whole, for stored text where no hint of the key is kept (request log bodies).
 */
export function replaceSecrets(text: string, marker: string): string {
  const whole = (): string => marker;
  return replaceCredentials(text, whole, marker, whole);
}

/** True once a secret is registered: without one there is nothing to mask in what the gateway passes on. */
export function hasKnownSecrets(): boolean {
  return knownPattern !== undefined;
}

/**
 * Masks the configured secrets only (exact values), for text the gateway passes on to a client: a
 * provider's bytes may hold key-shaped words that are the model's own content, so the shape net is
 * not used here. Returns `text` itself when nothing matched.
 */
export function maskKnownSecrets(text: string): string {
  const pattern = knownPattern;
  if (pattern === undefined) return text;
  pattern.lastIndex = 0;
  const found = pattern.test(text);
  pattern.lastIndex = 0;
  return found ? text.replace(pattern, maskKnown) : text;
}
