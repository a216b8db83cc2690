import { describe, expect, it } from 'vitest';
import {
  AwsEventStreamParser,
  crc32,
  decodeEventStreamMessage,
  encodeEvent,
  encodeEventStreamMessage,
  encodeException,
} from '../../../src/formats/bedrock/event-stream.js';

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, 'hex'));

/**
 * The aws-c-event-stream test vector: one `content-type: application/json`
 * header and the payload `{'foo':'bar'}`.
 * @see https://github.com/awslabs/aws-c-event-stream (tests: message_deserializer_test)
 */
const KNOWN_VECTOR = hex(
  '0000003d0000002007fd83960c636f6e74656e742d747970650700106170706c69636174696f6e2f6a736f6e7b27666f6f273a27626172277d8d9c08b1',
);

describe('crc32', () => {
  it('matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});

describe('event-stream message codec', () => {
  it('decodes the aws-c-event-stream reference vector', () => {
    const message = decodeEventStreamMessage(KNOWN_VECTOR);
    expect(message.headers).toEqual({ 'content-type': 'application/json' });
    expect(new TextDecoder().decode(message.payload)).toBe("{'foo':'bar'}");
  });

  it('encodes the reference vector byte for byte', () => {
    const encoded = encodeEventStreamMessage({ 'content-type': 'application/json' }, "{'foo':'bar'}");
    expect(Buffer.from(encoded).toString('hex')).toBe(Buffer.from(KNOWN_VECTOR).toString('hex'));
  });

  it('round-trips every header value type', () => {
    const headers = {
      yes: true,
      no: false,
      b: { type: 'byte', value: -7 },
      s: { type: 'short', value: 1234 },
      i: { type: 'int', value: -123456 },
      l: { type: 'long', value: 9007199254740993n },
      raw: { type: 'bytes', value: Uint8Array.of(1, 2, 3) },
      str: 'héllo',
      ts: { type: 'timestamp', value: new Date(1_700_000_000_123) },
      id: { type: 'uuid', value: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0' },
    } as const;
    const decoded = decodeEventStreamMessage(encodeEventStreamMessage(headers, 'x'));
    expect(decoded.headers).toEqual(headers);
  });

  it('rejects a frame whose message CRC is wrong', () => {
    const bad = KNOWN_VECTOR.slice();
    bad[bad.length - 1] ^= 0xff;
    expect(() => decodeEventStreamMessage(bad)).toThrow(/message CRC32 mismatch/);
  });

  it('rejects a frame whose prelude CRC is wrong', () => {
    const bad = KNOWN_VECTOR.slice();
    bad[9] ^= 0x01;
    expect(() => decodeEventStreamMessage(bad)).toThrow(/prelude CRC32 mismatch/);
  });
});

describe('AwsEventStreamParser', () => {
  const frame = encodeEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Grüße 👋' }, p: 'abcdef' });
  const expected = [{ event: 'contentBlockDelta', data: JSON.stringify({ contentBlockIndex: 0, delta: { text: 'Grüße 👋' }, p: 'abcdef' }) }];

  it('decodes one frame split at every byte boundary', () => {
    for (let cut = 1; cut < frame.length; cut++) {
      const parser = new AwsEventStreamParser();
      const events = [...parser.push(frame.slice(0, cut)), ...parser.push(frame.slice(cut)), ...parser.end()];
      expect(events, `cut at ${cut}`).toEqual(expected);
    }
  });

  it('decodes one frame fed one byte at a time', () => {
    const parser = new AwsEventStreamParser();
    const events = [];
    for (const byte of frame) events.push(...parser.push(Uint8Array.of(byte)));
    expect(events).toEqual(expected);
  });

  it('keeps its own copy of a partial frame when the caller reuses a Buffer', () => {
    const parser = new AwsEventStreamParser();
    const reused = Buffer.from(frame.subarray(0, 30));
    expect(parser.push(reused)).toEqual([]);
    reused.fill(0);
    expect(parser.push(Buffer.from(frame.subarray(30)))).toEqual(expected);
  });

  it('returns several frames from one chunk, in order', () => {
    const two = new Uint8Array([...encodeEvent('messageStart', { role: 'assistant' }), ...encodeEvent('messageStop', { stopReason: 'end_turn' })]);
    const events = new AwsEventStreamParser().push(two);
    expect(events.map((e) => e.event)).toEqual(['messageStart', 'messageStop']);
    expect(JSON.parse(events[1].data)).toEqual({ stopReason: 'end_turn' });
  });

  it('maps exception frames to exception:<type>', () => {
    const events = new AwsEventStreamParser().push(encodeException('throttlingException', 'Too many requests, please wait.'));
    expect(events).toEqual([{ event: 'exception:throttlingException', data: '{"message":"Too many requests, please wait."}' }]);
  });

  it('maps error frames to exception:<error-code> with the error message', () => {
    const frameBytes = encodeEventStreamMessage(
      { ':message-type': 'error', ':error-code': 'InternalFailure', ':error-message': 'Something broke' },
      '',
    );
    expect(new AwsEventStreamParser().push(frameBytes)).toEqual([{ event: 'exception:InternalFailure', data: '{"message":"Something broke"}' }]);
  });

  it('throws a clear error on a corrupt CRC in a stream', () => {
    const bad = frame.slice();
    bad[bad.length - 2] ^= 0x10;
    expect(() => new AwsEventStreamParser().push(bad)).toThrow('AWS event stream: message CRC32 mismatch (corrupt frame).');
  });

  it('fails fast on garbage instead of waiting for a huge frame', () => {
    expect(() => new AwsEventStreamParser().push(new TextEncoder().encode('<html>502 Bad Gateway</html>'))).toThrow(/prelude CRC32/);
  });

  it('throws at end() when the body stopped inside a frame', () => {
    const parser = new AwsEventStreamParser();
    expect(parser.push(frame.slice(0, 20))).toEqual([]);
    expect(() => parser.end()).toThrow(/ended inside a frame \(20 bytes left over\)/);
  });
});
