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
    const window = this.carry.length === 0 ? chunk : Buffer.concat([this.carry, chunk]);
    const windowStart = this.bytes - this.carry.length;
    this.bytes += chunk.length;
    for (let at = window.indexOf(FILENAME); at !== -1; at = window.indexOf(FILENAME, at + FILENAME.length)) {
      if (windowStart + at <= this.last) continue;
      if (this.note(window, at)) this.last = windowStart + at;
    }
    this.carry = window.subarray(Math.max(0, window.length - CARRY_BYTES));
  }

  /** Reads the header line around `at`; false when the line (and the next) are not complete yet. */
  private note(window: Buffer, at: number): boolean {
    const lineStart = window.lastIndexOf('\n', at) + 1;
    const lineEnd = window.indexOf('\r\n', at);
    if (lineEnd === -1) return false;
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
