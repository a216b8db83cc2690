/**
 * The text fields of a multipart/form-data body the gateway holds in memory
 * (a native pass-through's body): governance reads `model` out of an upload
 * (`/openai/v1/audio/transcriptions`) without touching the file parts.
 * @see https://www.rfc-editor.org/rfc/rfc7578
 */

/** The boundary of a multipart/form-data content type; undefined for any other type. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (contentType === undefined || !/^\s*multipart\/form-data\s*;/i.test(contentType)) return undefined;
  const match = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = match?.[1] ?? match?.[2];
  return boundary === undefined || boundary.length > 200 ? undefined : boundary;
}

/** The `name` of a part's Content-Disposition, and whether it is a file. */
function dispositionOf(head: string): { name: string; file: boolean } | undefined {
  for (const line of head.split(/\r?\n/)) {
    if (!/^content-disposition\s*:/i.test(line)) continue;
    const name = /;\s*name="([^"]*)"/i.exec(line)?.[1] ?? /;\s*name=([^;\s]+)/i.exec(line)?.[1];
    if (name === undefined) return undefined;
    return { name, file: /;\s*filename\*?=/i.test(line) };
  }
  return undefined;
}

/** One part of a body: its field name, whether it is a file, and where its value lies. */
interface Part {
  name: string;
  file: boolean;
  valueStart: number;
  valueEnd: number;
  /** The part's header lines. */
  head: string;
}

/** Each part of the body in order, until `visit` returns true or the closing delimiter. */
function findPart(body: Buffer, boundary: string, visit: (part: Part) => boolean): Part | undefined {
  const delimiter = Buffer.from(`--${boundary}`);
  let at = body.indexOf(delimiter);
  while (at !== -1) {
    const start = at + delimiter.length;
    // `--` after a delimiter closes the body.
    if (body[start] === 45 && body[start + 1] === 45) return undefined;
    const next = body.indexOf(delimiter, start);
    if (next === -1) return undefined;
    const split = body.indexOf('\r\n\r\n', start);
    if (split !== -1 && split < next) {
      const head = body.toString('latin1', start, split);
      const disposition = dispositionOf(head);
      // The value ends before the CRLF that precedes the next delimiter.
      const valueEnd = body[next - 2] === 13 && body[next - 1] === 10 ? next - 2 : next;
      if (disposition !== undefined) {
        const part = { name: disposition.name, file: disposition.file, valueStart: split + 4, valueEnd, head };
        if (visit(part)) return part;
      }
    }
    at = next;
  }
  return undefined;
}

/** Every text field (not a file) of the body, by name; a repeated name keeps its values in order. */
export function multipartTextFields(body: Buffer, boundary: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  findPart(body, boundary, (part) => {
    if (part.file) return false;
    const value = body.toString('utf8', part.valueStart, part.valueEnd);
    const list = fields.get(part.name);
    if (list === undefined) fields.set(part.name, [value]);
    else list.push(value);
    return false;
  });
  return fields;
}

/**
 * The body with the first text field `name` set to `value` (the model a target calls, in an upload
 * routed to another provider); the bytes of every other part are kept as they are. Unchanged when
 * there is no such field.
 */
export function replaceTextField(body: Buffer, boundary: string, name: string, value: string): Buffer {
  const part = findPart(body, boundary, (candidate) => !candidate.file && candidate.name === name);
  if (part === undefined) return body;
  return Buffer.concat([body.subarray(0, part.valueStart), Buffer.from(value, 'utf8'), body.subarray(part.valueEnd)]);
}

/** True when the body has a file part named one of `names` (`image`, `image[]`, `file`). */
export function hasFilePart(body: Buffer, boundary: string, names: readonly string[]): boolean {
  return findPart(body, boundary, (part) => part.file && names.includes(part.name)) !== undefined;
}

/** A file part of an upload: its field, file name, declared type and bytes. */
export interface UploadedFile {
  name: string;
  filename: string;
  contentType: string | undefined;
  bytes: Buffer;
}

/** The first file part named one of `names`, or undefined. */
export function multipartFile(body: Buffer, boundary: string, names: readonly string[]): UploadedFile | undefined {
  const part = findPart(body, boundary, (candidate) => candidate.file && names.includes(candidate.name));
  if (part === undefined) return undefined;
  const filename = /;\s*filename="([^"]*)"/i.exec(part.head)?.[1] ?? /;\s*filename=([^;\s]+)/i.exec(part.head)?.[1] ?? '';
  const contentType = /^content-type\s*:\s*(.+)$/im.exec(part.head)?.[1]?.trim();
  return { name: part.name, filename: Buffer.from(filename, 'latin1').toString('utf8'), contentType, bytes: body.subarray(part.valueStart, part.valueEnd) };
}

/** The body with the first file part named `name` holding `bytes` instead (its headers kept). */
export function replaceFilePart(body: Buffer, boundary: string, name: string, bytes: Buffer): Buffer {
  const part = findPart(body, boundary, (candidate) => candidate.file && candidate.name === name);
  if (part === undefined) return body;
  return Buffer.concat([body.subarray(0, part.valueStart), bytes, body.subarray(part.valueEnd)]);
}
