/**
 * Raw bytes to a server over one loopback socket, for requests no HTTP client
 * would send (huge headers, bad Content-Length, truncated bodies). Resolves
 * with the final response (after an interim `100 Continue`), or status 0 when
 * the server closed without one; rejects when neither happens in time.
 */
import { connect } from 'node:net';

export interface RawAnswer {
  /** 0 when the connection closed without a response. */
  status: number;
  /** The status line and headers, lower-cased. */
  head: string;
  body: string;
}

export function rawHttp(baseUrl: string, payload: Buffer | string, options: { endAfterWrite?: boolean; timeoutMs?: number } = {}): Promise<RawAnswer> {
  const { port } = new URL(baseUrl);
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let data = '';
    let settled = false;
    const final = (): string => data.replace(/^HTTP\/1\.1 100 [^\r]*\r\n\r\n/, '');
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = final();
      const split = text.indexOf('\r\n\r\n');
      const head = split === -1 ? text : text.slice(0, split);
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1] ?? 0), head: head.toLowerCase(), body: split === -1 ? '' : text.slice(split + 4) });
    };
    const timer = setTimeout(() => {
      settled = true;
      socket.destroy();
      reject(new Error(`no answer and no close within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      const text = final();
      const split = text.indexOf('\r\n\r\n');
      if (!/^HTTP\/1\.1 [2-5]\d\d/.test(text) || split === -1) return;
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, split));
      if (length === null || Buffer.byteLength(text.slice(split + 4), 'latin1') >= Number(length[1])) finish();
    });
    socket.on('close', finish);
    socket.on('error', () => undefined);
    socket.write(payload);
    if (options.endAfterWrite) socket.end();
  });
}
