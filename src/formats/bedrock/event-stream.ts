/**
 * The AWS binary event-stream framing (`application/vnd.amazon.eventstream`),
 * decoded incrementally and purely. Bedrock ConverseStream answers in it.
 *
 * One message on the wire:
 *   total length u32 BE | headers length u32 BE | prelude CRC32 (of the first 8 bytes)
 *   headers (name len u8, name, value type u8, value) | payload | message CRC32 (of all before it)
 *
 * @see https://smithy.io/2.0/aws/amazon-eventstream.html
 * @see https://docs.aws.amazon.com/transcribe/latest/dg/streaming-setting-up.html#streaming-event-stream
 */
import type { SseEvent } from '../../gateway/sse.js';

const PRELUDE_LENGTH = 12;
const CRC_LENGTH = 4;
const MIN_MESSAGE_LENGTH = PRELUDE_LENGTH + CRC_LENGTH;
/** Limits from the reference implementation (aws-c-event-stream). */
const MAX_MESSAGE_LENGTH = 16 * 1024 * 1024;
const MAX_HEADERS_LENGTH = 128 * 1024;

// ---------------------------------------------------------------- CRC32 (IEEE 802.3, as gzip)

const CRC_TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC32 of `bytes[start, end)`, as an unsigned 32-bit number. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = CRC_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

// ---------------------------------------------------------------- header values

/** A decoded header value; the wire type is kept where the JS type alone would lose it. */
export type EventStreamHeaderValue =
  | string
  | boolean
  | { type: 'byte' | 'short' | 'int'; value: number }
  | { type: 'long'; value: bigint }
  | { type: 'bytes'; value: Uint8Array }
  | { type: 'timestamp'; value: Date }
  | { type: 'uuid'; value: string };

export interface EventStreamMessage {
  headers: Record<string, EventStreamHeaderValue>;
  payload: Uint8Array;
}

const HEADER_TYPE = {
  true: 0, false: 1, byte: 2, short: 3, int: 4, long: 5, bytes: 6, string: 7, timestamp: 8, uuid: 9,
} as const;

const utf8Decoder = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

function uuidFromBytes(bytes: Uint8Array): string {
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function decodeHeaders(bytes: Uint8Array, start: number, end: number): Record<string, EventStreamHeaderValue> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headers: Record<string, EventStreamHeaderValue> = {};
  let at = start;
  const need = (n: number): void => {
    if (at + n > end) throw new Error('AWS event stream: a header runs past the header block.');
  };
  while (at < end) {
    need(1);
    const nameLength = bytes[at++];
    need(nameLength + 1);
    const name = utf8Decoder.decode(bytes.subarray(at, at + nameLength));
    at += nameLength;
    const type = bytes[at++];
    switch (type) {
      case HEADER_TYPE.true: headers[name] = true; break;
      case HEADER_TYPE.false: headers[name] = false; break;
      case HEADER_TYPE.byte: need(1); headers[name] = { type: 'byte', value: view.getInt8(at) }; at += 1; break;
      case HEADER_TYPE.short: need(2); headers[name] = { type: 'short', value: view.getInt16(at) }; at += 2; break;
      case HEADER_TYPE.int: need(4); headers[name] = { type: 'int', value: view.getInt32(at) }; at += 4; break;
      case HEADER_TYPE.long: need(8); headers[name] = { type: 'long', value: view.getBigInt64(at) }; at += 8; break;
      case HEADER_TYPE.timestamp:
        need(8);
        headers[name] = { type: 'timestamp', value: new Date(Number(view.getBigInt64(at))) };
        at += 8;
        break;
      case HEADER_TYPE.uuid: need(16); headers[name] = { type: 'uuid', value: uuidFromBytes(bytes.subarray(at, at + 16)) }; at += 16; break;
      case HEADER_TYPE.bytes:
      case HEADER_TYPE.string: {
        need(2);
        const length = view.getUint16(at);
        at += 2;
        need(length);
        const raw = bytes.subarray(at, at + length);
        headers[name] = type === HEADER_TYPE.string ? utf8Decoder.decode(raw) : { type: 'bytes', value: raw.slice() };
        at += length;
        break;
      }
      default:
        throw new Error(`AWS event stream: unknown header value type ${type} for header "${name}".`);
    }
  }
  return headers;
}

/**
 * Decodes exactly one complete message (`bytes` holds it and nothing else).
 * Throws a clear Error when a length or a CRC does not check out.
 */
export function decodeEventStreamMessage(bytes: Uint8Array): EventStreamMessage {
  if (bytes.length < MIN_MESSAGE_LENGTH) throw new Error(`AWS event stream: message of ${bytes.length} bytes is shorter than the minimum ${MIN_MESSAGE_LENGTH}.`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const totalLength = view.getUint32(0);
  const headersLength = view.getUint32(4);
  const preludeCrc = view.getUint32(8);
  if (crc32(bytes, 0, 8) !== preludeCrc) throw new Error('AWS event stream: prelude CRC32 mismatch (corrupt frame).');
  if (totalLength !== bytes.length) throw new Error(`AWS event stream: prelude says ${totalLength} bytes, got ${bytes.length}.`);
  if (headersLength > totalLength - MIN_MESSAGE_LENGTH) throw new Error(`AWS event stream: headers length ${headersLength} does not fit a ${totalLength}-byte message.`);
  const messageCrc = view.getUint32(totalLength - CRC_LENGTH);
  if (crc32(bytes, 0, totalLength - CRC_LENGTH) !== messageCrc) throw new Error('AWS event stream: message CRC32 mismatch (corrupt frame).');
  const headersEnd = PRELUDE_LENGTH + headersLength;
  return {
    headers: decodeHeaders(bytes, PRELUDE_LENGTH, headersEnd),
    payload: bytes.subarray(headersEnd, totalLength - CRC_LENGTH),
  };
}

function headerString(headers: Record<string, EventStreamHeaderValue>, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * A decoded message as the event a StreamDecoder takes:
 * - `:message-type` event      -> `{event: :event-type, data: payload}`
 * - `:message-type` exception  -> `{event: 'exception:' + :exception-type, data: payload}`
 * - `:message-type` error      -> `{event: 'exception:' + :error-code, data: payload or {"message": :error-message}}`
 */
export function toSseEvent(message: EventStreamMessage): SseEvent {
  const { headers } = message;
  const messageType = headerString(headers, ':message-type') ?? 'event';
  const payload = utf8Decoder.decode(message.payload);
  if (messageType === 'exception') {
    return { event: `exception:${headerString(headers, ':exception-type') ?? 'unknown'}`, data: payload };
  }
  if (messageType === 'error') {
    const errorMessage = headerString(headers, ':error-message');
    const data = payload.length > 0 || errorMessage === undefined ? payload : JSON.stringify({ message: errorMessage });
    return { event: `exception:${headerString(headers, ':error-code') ?? 'unknown'}`, data };
  }
  const eventType = headerString(headers, ':event-type');
  return eventType === undefined ? { data: payload } : { event: eventType, data: payload };
}

/**
 * Incremental parser with the same shape as SseParser: feed chunks split at any
 * byte boundary; it returns the events whose frames are complete.
 */
export class AwsEventStreamParser {
  private buffer: Uint8Array = new Uint8Array(0);

  push(chunk: Uint8Array): SseEvent[] {
    this.buffer = this.buffer.length === 0 ? chunk : concat(this.buffer, chunk);
    const events: SseEvent[] = [];
    let at = 0;
    while (this.buffer.length - at >= PRELUDE_LENGTH) {
      const view = new DataView(this.buffer.buffer, this.buffer.byteOffset + at, PRELUDE_LENGTH);
      const totalLength = view.getUint32(0);
      // Check the prelude before trusting its length, so garbage fails fast instead of waiting for 4 GB.
      if (crc32(this.buffer, at, at + 8) !== view.getUint32(8)) throw new Error('AWS event stream: prelude CRC32 mismatch (corrupt frame).');
      if (totalLength < MIN_MESSAGE_LENGTH || totalLength > MAX_MESSAGE_LENGTH) {
        throw new Error(`AWS event stream: invalid message length ${totalLength}.`);
      }
      if (view.getUint32(4) > MAX_HEADERS_LENGTH) throw new Error(`AWS event stream: headers length ${view.getUint32(4)} is over the limit.`);
      if (this.buffer.length - at < totalLength) break;
      events.push(toSseEvent(decodeEventStreamMessage(this.buffer.subarray(at, at + totalLength))));
      at += totalLength;
    }
    // Keep only the unfinished tail, copied: a Buffer's slice() is a view, and the
    // caller may reuse its chunk (or hold a large pooled slab alive through it).
    if (at === this.buffer.length) this.buffer = new Uint8Array(0);
    else {
      const rest = new Uint8Array(this.buffer.length - at);
      rest.set(this.buffer.subarray(at));
      this.buffer = rest;
    }
    return events;
  }

  /** The body ended. A partial frame left over means the stream was cut. */
  end(): SseEvent[] {
    if (this.buffer.length > 0) {
      const left = this.buffer.length;
      this.buffer = new Uint8Array(0);
      throw new Error(`AWS event stream: the stream ended inside a frame (${left} bytes left over).`);
    }
    return [];
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

// ---------------------------------------------------------------- encoder (tests and the mock upstream)

function encodeHeaderValue(value: EventStreamHeaderValue): Uint8Array {
  if (typeof value === 'boolean') return Uint8Array.of(value ? HEADER_TYPE.true : HEADER_TYPE.false);
  if (typeof value === 'string') return lengthPrefixed(HEADER_TYPE.string, utf8Encoder.encode(value));
  const sizes = { byte: 1, short: 2, int: 4, long: 8, timestamp: 8, uuid: 16 } as const;
  if (value.type === 'bytes') return lengthPrefixed(HEADER_TYPE.bytes, value.value);
  const out = new Uint8Array(1 + sizes[value.type]);
  out[0] = HEADER_TYPE[value.type];
  const view = new DataView(out.buffer);
  switch (value.type) {
    case 'byte': view.setInt8(1, value.value); break;
    case 'short': view.setInt16(1, value.value); break;
    case 'int': view.setInt32(1, value.value); break;
    case 'long': view.setBigInt64(1, value.value); break;
    case 'timestamp': view.setBigInt64(1, BigInt(value.value.getTime())); break;
    case 'uuid': {
      const hex = value.value.replace(/-/g, '');
      for (let i = 0; i < 16; i++) out[1 + i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
      break;
    }
  }
  return out;
}

function lengthPrefixed(type: number, bytes: Uint8Array): Uint8Array {
  if (bytes.length > 0xffff) throw new Error('AWS event stream: header value longer than 65535 bytes.');
  const out = new Uint8Array(3 + bytes.length);
  out[0] = type;
  new DataView(out.buffer).setUint16(1, bytes.length);
  out.set(bytes, 3);
  return out;
}

/**
 * Encodes one message. Used by tests and by the mock upstream, never on the
 * request path. Header order is the object's key order.
 */
export function encodeEventStreamMessage(
  headers: Record<string, EventStreamHeaderValue>,
  payload: Uint8Array | string,
): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const nameBytes = utf8Encoder.encode(name);
    if (nameBytes.length > 255) throw new Error('AWS event stream: header name longer than 255 bytes.');
    parts.push(Uint8Array.of(nameBytes.length), nameBytes, encodeHeaderValue(value));
  }
  const headersLength = parts.reduce((sum, part) => sum + part.length, 0);
  const body = typeof payload === 'string' ? utf8Encoder.encode(payload) : payload;
  const totalLength = MIN_MESSAGE_LENGTH + headersLength + body.length;
  const out = new Uint8Array(totalLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, totalLength);
  view.setUint32(4, headersLength);
  view.setUint32(8, crc32(out, 0, 8));
  let at = PRELUDE_LENGTH;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  out.set(body, at);
  view.setUint32(totalLength - CRC_LENGTH, crc32(out, 0, totalLength - CRC_LENGTH));
  return out;
}

/** A Bedrock-style event frame: `:event-type`, `:content-type` JSON, `:message-type` event. */
export function encodeEvent(eventType: string, payload: unknown): Uint8Array {
  return encodeEventStreamMessage(
    { ':event-type': eventType, ':content-type': 'application/json', ':message-type': 'event' },
    JSON.stringify(payload),
  );
}

/** A Bedrock-style exception frame (`:message-type` exception). */
export function encodeException(exceptionType: string, message: string): Uint8Array {
  return encodeEventStreamMessage(
    { ':exception-type': exceptionType, ':content-type': 'application/json', ':message-type': 'exception' },
    JSON.stringify({ message }),
  );
}
