/**
 * Media helpers for the Gemini codecs: data URLs <-> inlineData, and a MIME
 * type guessed from a URL's extension for fileData parts.
 *
 * @see https://ai.google.dev/gemini-api/docs/image-understanding#supported-formats
 * @see https://ai.google.dev/gemini-api/docs/document-processing
 */

export interface ParsedDataUrl {
  mimeType: string;
  /** Base64 bytes. */
  data: string;
}

/** `data:image/png;base64,AAAA` -> { mimeType, data }; percent-encoded payloads are re-encoded as base64. */
export function parseDataUrl(url: string): ParsedDataUrl | undefined {
  if (!url.startsWith('data:')) return undefined;
  const comma = url.indexOf(',');
  if (comma === -1) return undefined;
  const header = url.slice(5, comma);
  const payload = url.slice(comma + 1);
  const params = header.split(';');
  const mimeType = params[0] || 'text/plain';
  if (params.includes('base64')) return { mimeType, data: payload };
  let text: string;
  try {
    text = decodeURIComponent(payload);
  } catch {
    return undefined;
  }
  return { mimeType, data: Buffer.from(text, 'utf8').toString('base64') };
}

export function toDataUrl(mimeType: string, data: string): string {
  return `data:${mimeType};base64,${data}`;
}

/** Extension -> MIME type, for the formats Gemini documents as supported. */
const MIME_BY_EXTENSION: Readonly<Record<string, string>> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  heic: 'image/heic',
  heif: 'image/heif',
  pdf: 'application/pdf',
  txt: 'text/plain',
  md: 'text/md',
  csv: 'text/csv',
  html: 'text/html',
  xml: 'text/xml',
  wav: 'audio/wav',
  mp3: 'audio/mp3',
  aac: 'audio/aac',
  ogg: 'audio/ogg',
  flac: 'audio/flac',
  aiff: 'audio/aiff',
  mp4: 'video/mp4',
  mpeg: 'video/mpeg',
  mov: 'video/mov',
  webm: 'video/webm',
};

/** MIME type from the last path segment's extension (query and fragment ignored); undefined when unknown. */
export function guessMimeType(uriOrName: string): string | undefined {
  const path = uriOrName.split(/[?#]/, 1)[0];
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  if (dot === -1) return undefined;
  return MIME_BY_EXTENSION[name.slice(dot + 1).toLowerCase()];
}

/** URLs Gemini can fetch itself as fileData: http(s), Cloud Storage (Vertex), and Files API URIs. */
export function isFetchableUri(url: string): boolean {
  return /^(https?|gs):\/\//i.test(url);
}
