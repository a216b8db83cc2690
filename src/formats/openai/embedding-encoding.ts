/**
 * `encoding_format: "base64"` for servers that ignore it. The openai SDKs ask
 * for base64 by default and decode what comes back as base64 float32; an
 * OpenAI-compatible server that answers with float arrays anyway (Ollama,
 * some embedding servers) then gets its vectors silently decoded to a quarter
 * of their width. A pass-through answer to a base64 request is re-encoded
 * when, and only when, it holds float arrays. Pure.
 * @see https://platform.openai.com/docs/api-reference/embeddings/create#embeddings-create-encoding_format
 * @see https://github.com/ollama/ollama/issues/6934
 */

const QUOTE = 0x22;
const COLON = 0x3a;
const OPEN_BRACKET = 0x5b;

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}

/** Whether the first `"embedding"` member of the body is an array (floats) rather than a string (base64). */
function hasFloatEmbeddings(raw: Buffer): boolean {
  let from = 0;
  for (;;) {
    const at = raw.indexOf('"embedding"', from);
    if (at === -1) return false;
    let i = at + 11;
    while (i < raw.length && isSpace(raw[i])) i++;
    if (raw[i] === COLON) {
      // A member name (not the value of `"object":"embedding"`): what follows tells the encoding.
      i++;
      while (i < raw.length && isSpace(raw[i])) i++;
      return raw[i] === OPEN_BRACKET;
    }
    if (raw[i] === QUOTE) return false;
    from = i;
  }
}

/** Float vector -> base64 of little-endian float32, as OpenAI encodes it. */
export function float32Base64(values: readonly number[]): string {
  const floats = Float32Array.from(values);
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString('base64');
}

/** The answer to a base64 embeddings request, with float vectors (if any) re-encoded as base64; else `raw` itself. */
export function base64EmbeddingsBody(raw: Buffer): Buffer {
  if (!hasFloatEmbeddings(raw)) return raw;
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return raw;
  }
  const data = (body as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) return raw;
  let changed = false;
  for (const item of data as Array<{ embedding?: unknown }>) {
    if (item !== null && typeof item === 'object' && Array.isArray(item.embedding)) {
      item.embedding = float32Base64(item.embedding as number[]);
      changed = true;
    }
  }
  return changed ? Buffer.from(JSON.stringify(body)) : raw;
}
