/** UploadPartScan: the file parts of an upload noted as its bytes pass, whatever the chunk boundaries. */
import { describe, expect, it } from 'vitest';
import { UploadPartScan } from '../../src/api/upload-parts.js';

const BOUNDARY = 'scanBoundary';

function upload(): Buffer {
  return Buffer.concat([
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="model"\r\n\r\ngroq/whisper-large-v3\r\n`),
    Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="r\xc3\xa9union.wav"\r\nContent-Type: audio/wav\r\n\r\n`, 'latin1'),
    Buffer.alloc(5000, 7),
    Buffer.from(`\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="image[]"; filename="b.png"\r\n\r\n`),
    Buffer.alloc(300, 1),
    Buffer.from(`\r\n--${BOUNDARY}--\r\n`),
  ]);
}

describe('UploadPartScan', () => {
  it('names each file once, with its type, at every chunk size (headers cut across chunks included)', () => {
    const bytes = upload();
    for (const size of [1, 7, 64, 150, 4096, bytes.length]) {
      const scan = new UploadPartScan();
      for (let at = 0; at < bytes.length; at += size) scan.push(bytes.subarray(at, at + size));
      expect(scan.bytes).toBe(bytes.length);
      expect(scan.files).toEqual([
        { field: 'file', filename: 'réunion.wav', type: 'audio/wav' },
        { field: 'image[]', filename: 'b.png' },
      ]);
    }
  });

  it('chunks of mixed sizes (a large one, then small ones) find the same files', () => {
    const bytes = upload();
    for (const sizes of [[60, 2000, 3, 700], [5000, 5, 1], [190, 191, 5000]]) {
      const scan = new UploadPartScan();
      for (let at = 0, i = 0; at < bytes.length; at += sizes[i % sizes.length], i += 1) scan.push(bytes.subarray(at, at + sizes[i % sizes.length]));
      expect(scan.files.map((file) => file.filename), String(sizes)).toEqual(['réunion.wav', 'b.png']);
    }
  });
});
