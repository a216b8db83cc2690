/**
 * Notes the file parts of a multipart upload as its bytes pass (a streamed audio upload is never
 * held whole): each file's field, file name and declared type, and the upload's size, for the
 * request log's preview. A part header cut across two chunks is found in the next one (the last
 * bytes of the previous chunk are searched again; a header is noted once, by its offset).
 */

const FILENAME = Buffer.from('filename=');
/** Longest part header line the scan reads across a chunk boundary. */
const CARRY_BYTES = 1024;

export interface UploadPart {
  field: string;
  filename: string;
  type?: string;
}

export class UploadPartScan {
  readonly files: UploadPart[] = [];
  bytes = 0;
  private carry: Buffer = Buffer.alloc(0);
  /** Offset (in the whole upload) of the last header noted. */
  private last = -1;

  push(chunk: Buffer): void {
    const start = this.bytes;
    this.bytes += chunk.length;
    // Headers cut at the previous chunk's end: the carried bytes and the start of this chunk (a small copy).
    if (this.carry.length > 0) this.search(Buffer.concat([this.carry, chunk.subarray(0, CARRY_BYTES)]), start - this.carry.length);
    this.search(chunk, start);
    const tail = chunk.length >= CARRY_BYTES ? chunk.subarray(chunk.length - CARRY_BYTES) : Buffer.concat([this.carry, chunk]);
    this.carry = Buffer.from(tail.subarray(Math.max(0, tail.length - CARRY_BYTES)));
  }

  /** Notes the headers found in `bytes`, which start at `offset` of the upload. */
  private search(bytes: Buffer, offset: number): void {
    for (let at = bytes.indexOf(FILENAME); at !== -1; at = bytes.indexOf(FILENAME, at + FILENAME.length)) {
      if (offset + at <= this.last) continue;
      if (this.note(bytes, at)) this.last = offset + at;
    }
  }

  /** Reads the header line around `at`; false when the line (and the next) are not whole in `window`. */
  private note(window: Buffer, at: number): boolean {
    // A line whose start or end is not in these bytes is read where it is whole (the carried window).
    const newline = window.lastIndexOf('\n', at);
    const lineEnd = window.indexOf('\r\n', at);
    if (newline === -1 || lineEnd === -1) return false;
    const lineStart = newline + 1;
    const line = window.toString('latin1', lineStart, lineEnd);
    if (!/^content-disposition\s*:/i.test(line)) return true;
    const nextEnd = window.indexOf('\r\n', lineEnd + 2);
    if (nextEnd === -1) return false;
    const next = window.toString('latin1', lineEnd + 2, nextEnd);
    const field = /;\s*name="([^"]*)"/i.exec(line)?.[1] ?? '';
    const filename = Buffer.from(/;\s*filename="([^"]*)"/i.exec(line)?.[1] ?? '', 'latin1').toString('utf8');
    const type = /^content-type\s*:\s*(.+)$/i.exec(next)?.[1]?.trim();
    if (this.files.length < 16) this.files.push(type === undefined ? { field, filename } : { field, filename, type });
    return true;
  }
}
