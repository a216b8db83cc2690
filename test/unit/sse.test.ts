import { describe, expect, it } from 'vitest';
import { formatSse, SSE_HEADERS, SseParser, withSseHeaders } from '../../src/gateway/sse.js';

const STREAM = 'data: {"a":1}\n\nevent: message_start\ndata: {"b":"é€😀"}\n\n: comment\ndata: line1\ndata: line2\nid: 7\n\ndata: [DONE]\n\n';
const EXPECTED = [
  { data: '{"a":1}' },
  { event: 'message_start', data: '{"b":"é€😀"}' },
  { data: 'line1\nline2', id: '7' },
  { data: '[DONE]' },
];

function parseInPieces(bytes: Uint8Array, cuts: number[]): unknown[] {
  const parser = new SseParser();
  const events: unknown[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    events.push(...parser.push(bytes.subarray(start, cut)));
    start = cut;
  }
  events.push(...parser.end());
  return events;
}

describe('SseParser', () => {
  it('parses a whole stream', () => {
    expect(parseInPieces(Buffer.from(STREAM), [])).toEqual(EXPECTED);
  });

  it('gives the same events whatever the byte boundaries (inside UTF-8 sequences too)', () => {
    const bytes = Buffer.from(STREAM);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(parseInPieces(bytes, [cut])).toEqual(EXPECTED);
    }
    const every = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
    expect(parseInPieces(bytes, every)).toEqual(EXPECTED);
  });

  it('handles CRLF and CR line endings, split between chunks', () => {
    const crlf = Buffer.from(STREAM.replace(/\n/g, '\r\n'));
    for (let cut = 1; cut < crlf.length; cut++) expect(parseInPieces(crlf, [cut])).toEqual(EXPECTED);
    const cr = Buffer.from(STREAM.replace(/\n/g, '\r'));
    expect(parseInPieces(cr, [])).toEqual(EXPECTED);
  });

  it('strips a byte-order mark at the start of the stream only, however the bytes are cut', () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const bytes = Buffer.concat([bom, Buffer.from('data: a\n\ndata: '), bom, Buffer.from('b€\n\n')]);
    const expected = [{ data: 'a' }, { data: '\ufeffb€' }];
    for (let cut = 0; cut <= bytes.length; cut++) expect(parseInPieces(bytes, [cut])).toEqual(expected);
    for (let cut = 3; cut < bytes.length; cut++) expect(parseInPieces(bytes, [3, cut])).toEqual(expected);
    // No mark at the start: one later in the stream is text, also when it begins a piece cut inside a character.
    const plain = bytes.subarray(3);
    for (let first = 1; first < plain.length; first++) {
      for (let second = first; second <= plain.length; second++) expect(parseInPieces(plain, [first, second])).toEqual(expected);
    }
  });

  it('flushes a last event that has no blank line', () => {
    const parser = new SseParser();
    expect(parser.push('data: tail')).toEqual([]);
    expect(parser.end()).toEqual([{ data: 'tail' }]);
  });

  it('formats events, multi-line data included', () => {
    expect(formatSse('{"x":1}')).toBe('data: {"x":1}\n\n');
    expect(formatSse('a\nb', 'ping')).toBe('event: ping\ndata: a\ndata: b\n\n');
    const parser = new SseParser();
    expect(parser.push(formatSse('a\nb', 'ping'))).toEqual([{ event: 'ping', data: 'a\nb' }]);
  });
});

describe('SseParser.idle', () => {
  it('is true only between events', () => {
    const parser = new SseParser();
    expect(parser.idle).toBe(true);
    parser.push('data: {"a":1}\n');
    expect(parser.idle).toBe(false); // a data line waits for its blank line
    parser.push('\n');
    expect(parser.idle).toBe(true);
    parser.push('data: {"b"');
    expect(parser.idle).toBe(false); // half a line
    parser.push(':2}\n\n');
    expect(parser.idle).toBe(true);
    parser.push('data: x\n\r');
    expect(parser.idle).toBe(false); // a CR that may be half of CRLF
  });
});

describe('SSE response headers', () => {
  it('are added as Object.assign adds SSE_HEADERS: same names, values and order, set over the same names', () => {
    const base = () => ({ 'x-request-id': 'r1', 'content-type': 'application/json', 'x-heimdall-model': 'm' });
    const expected = Object.assign(base(), SSE_HEADERS);
    const got = withSseHeaders(base());
    expect(Object.entries(got)).toEqual(Object.entries(expected));
    expect(Object.entries(withSseHeaders({}))).toEqual(Object.entries(SSE_HEADERS));
  });
});
