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

/** Every text field (not a file) of the body, by name; a repeated name keeps its values in order. */
export function multipartTextFields(body: Buffer, boundary: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  const delimiter = Buffer.from(`--${boundary}`);
  let at = body.indexOf(delimiter);
  while (at !== -1) {
    const start = at + delimiter.length;
    // `--` after a delimiter closes the body.
    if (body[start] === 45 && body[start + 1] === 45) break;
    const next = body.indexOf(delimiter, start);
    if (next === -1) break;
    const part = body.subarray(start, next);
    const split = part.indexOf('\r\n\r\n');
    if (split !== -1) {
      const disposition = dispositionOf(part.toString('latin1', 0, split));
      if (disposition !== undefined && !disposition.file) {
        // The value ends before the CRLF that precedes the next delimiter.
        let end = part.length;
        if (part[end - 2] === 13 && part[end - 1] === 10) end -= 2;
        const value = part.toString('utf8', split + 4, end);
        const list = fields.get(disposition.name);
        if (list === undefined) fields.set(disposition.name, [value]);
        else list.push(value);
      }
    }
    at = next;
  }
  return fields;
}
