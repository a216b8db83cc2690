/**
 * Keeps the gateway's own provider keys out of what a client receives when a
 * provider's bytes are passed on as they are: a pass-through stream, a
 * pass-through JSON body, a token count. A provider may quote the key it was
 * sent inside an error (`Incorrect API key provided: sk-...`); log lines are
 * masked elsewhere (telemetry/secrets.ts), this masks the client's copy.
 *
 * Cost on the hot path: a stream chunk that ends at a line break (the usual
 * case: providers write whole events) is forwarded as it is after one byte
 * read and one `indexOf` for the error marker. Only bytes that hold the marker
 * are decoded and searched for the configured secrets. A chunk that ends
 * inside a line is forwarded up to its last line break and the rest is held
 * until the line is complete, so a key cut across two chunks is searched
 * whole; the client's SSE parser acts on whole lines only, so it sees no delay.
 * Without any configured secret (a keyless Ollama) the guard does nothing.
 */
import { hasKnownSecrets, maskKnownSecrets } from '../telemetry/secrets.js';

/**
 * Every error envelope a provider writes says "error" (OpenAI, Anthropic, Gemini, Cohere, vLLM,
 * Ollama...); "rror" also finds "Error". A key quoted anywhere else is not looked for: that would
 * cost a regular expression per chunk for a case no provider is known to produce.
 */
const MARKER = 'rror';
const MARKER_BYTES = Buffer.from(MARKER);
const LF = 10;
const CR = 13;

function maskBytes(bytes: Buffer): Buffer {
  if (bytes.indexOf(MARKER_BYTES) === -1) return bytes;
  const text = bytes.toString('utf8');
  const masked = maskKnownSecrets(text);
  return masked === text ? bytes : Buffer.from(masked, 'utf8');
}

/** A whole body the client gets as the provider sent it (JSON), with any configured secret masked. */
export function maskSecretsInBody(body: Buffer): Buffer {
  return hasKnownSecrets() ? maskBytes(body) : body;
}

/** A whole SSE event re-emitted as text, with any configured secret masked. */
export function maskSecretsInText(text: string): string {
  return text.indexOf(MARKER) === -1 ? text : maskKnownSecrets(text);
}

/** One pass-through stream's bytes on their way to the client, in whole lines. */
export class StreamSecretGuard {
  /** The bytes after the last line break forwarded so far (a line not complete yet). */
  private held: Buffer[] | undefined;
  private readonly active = hasKnownSecrets();

  /** The bytes to forward now; undefined when the chunk completed no line. */
  push(chunk: Buffer): Buffer | undefined {
    if (!this.active) return chunk;
    if (this.held === undefined) {
      const last = chunk[chunk.length - 1];
      if (last === LF || last === CR) return maskBytes(chunk);
    }
    const cut = Math.max(chunk.lastIndexOf(LF), chunk.lastIndexOf(CR)) + 1;
    if (cut === 0) {
      if (chunk.length > 0) (this.held ??= []).push(chunk);
      return undefined;
    }
    const head = this.held === undefined ? chunk.subarray(0, cut) : Buffer.concat([...this.held, chunk.subarray(0, cut)]);
    this.held = cut < chunk.length ? [chunk.subarray(cut)] : undefined;
    return maskBytes(head);
  }

  /** The stream ended: what is left (a last line without its line break), masked. */
  end(): Buffer | undefined {
    const held = this.held;
    this.held = undefined;
    return held === undefined ? undefined : maskBytes(held.length === 1 ? held[0] : Buffer.concat(held));
  }
}
