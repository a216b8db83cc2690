/**
 * Server-sent events, parsed once on the way in and written once on the way out.
 * Layers as in openai-node: bytes -> lines -> events; JSON is the caller's job.
 * @see https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 */

export interface SseEvent {
  /** The `event:` field, when present. */
  event?: string;
  /** The `data:` lines joined with "\n". */
  data: string;
  id?: string;
}

/**
 * Incremental SSE parser. Feed it chunks split anywhere (inside a UTF-8
 * sequence, a CRLF, a field name); it returns the events completed so far.
 */
export class SseParser {
  /**
   * Made only when a chunk ends inside a character (or the stream starts with a byte-order mark):
   * until then each chunk is whole UTF-8 text and is read with one toString, and a stream costs no
   * decoder. Once made, it reads every later chunk (it may hold the start of a character).
   */
  private decoder: InstanceType<typeof TextDecoder> | undefined;
  private sawBytes = false;
  private buffer = '';
  private data: string[] = [];
  private eventName: string | undefined;
  private eventId: string | undefined;
  /** A chunk ended in "\r": a following "\n" belongs to the same line break. */
  private pendingCR = false;

  push(chunk: Uint8Array | string): SseEvent[] {
    let text = typeof chunk === 'string' ? chunk : this.decode(chunk);
    if (this.pendingCR && text.startsWith('\n')) text = text.slice(1);
    this.pendingCR = false;
    this.buffer += text;
    return this.drain();
  }

  private decode(chunk: Uint8Array): string {
    const n = chunk.length;
    if (this.decoder === undefined && n > 0 && chunk[n - 1] < 0x80 && (this.sawBytes || chunk[0] !== 0xef) && Buffer.isBuffer(chunk)) {
      this.sawBytes = true;
      return chunk.toString('utf8');
    }
    // A byte-order mark is stripped at the start of the stream only, as the SSE spec asks.
    this.decoder ??= new TextDecoder('utf-8', { ignoreBOM: this.sawBytes });
    if (n > 0) this.sawBytes = true;
    return this.decoder.decode(chunk, { stream: true });
  }

  /** True between events: nothing held (no partial line, no data lines, no half line break). */
  get idle(): boolean {
    return this.buffer.length === 0 && this.data.length === 0 && this.eventName === undefined && this.eventId === undefined && !this.pendingCR;
  }

  /** Flushes what is left when the stream ends (a last event without its blank line). */
  end(): SseEvent[] {
    if (this.decoder !== undefined) this.buffer += this.decoder.decode();
    const events = this.drain();
    if (this.buffer.length > 0) {
      this.processLine(this.buffer, events);
      this.buffer = '';
    }
    this.dispatch(events);
    return events;
  }

  private drain(): SseEvent[] {
    const events: SseEvent[] = [];
    const buffer = this.buffer;
    let start = 0;
    for (let i = 0; i < buffer.length; i++) {
      const c = buffer.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = buffer.slice(start, i);
      if (c === 13) {
        if (i + 1 < buffer.length) {
          if (buffer.charCodeAt(i + 1) === 10) i++;
        } else {
          this.pendingCR = true;
        }
      }
      start = i + 1;
      this.processLine(line, events);
    }
    this.buffer = start === 0 ? buffer : buffer.slice(start);
    return events;
  }

  private processLine(line: string, events: SseEvent[]): void {
    if (line.length === 0) {
      this.dispatch(events);
      return;
    }
    if (line.charCodeAt(0) === 58 /* ':' comment */) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    switch (field) {
      case 'data': this.data.push(value); break;
      case 'event': this.eventName = value; break;
      case 'id': this.eventId = value; break;
      default: break; // `retry` and unknown fields are ignored
    }
  }

  private dispatch(events: SseEvent[]): void {
    if (this.data.length === 0 && this.eventName === undefined) return;
    const event: SseEvent = { data: this.data.length === 1 ? this.data[0] : this.data.join('\n') };
    if (this.eventName !== undefined) event.event = this.eventName;
    if (this.eventId !== undefined) event.id = this.eventId;
    this.data = [];
    this.eventName = undefined;
    this.eventId = undefined;
    events.push(event);
  }
}

/** One SSE event as text: `event:` line when named, then the data lines, then a blank line. */
export function formatSse(data: string, event?: string): string {
  const head = event === undefined ? '' : `event: ${event}\n`;
  if (data.indexOf('\n') === -1) return `${head}data: ${data}\n\n`;
  return `${head}data: ${data.split('\n').join('\ndata: ')}\n\n`;
}

export const SSE_DONE = 'data: [DONE]\n\n';

export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
});

/**
 * `headers` with SSE_HEADERS added (or set over the same names), as Object.assign would: one
 * store per header, where Object.assign from the frozen object took its generic path (profile).
 */
export function withSseHeaders(headers: Record<string, string>): Record<string, string> {
  headers['content-type'] = 'text/event-stream; charset=utf-8';
  headers['cache-control'] = 'no-cache';
  headers.connection = 'keep-alive';
  headers['x-accel-buffering'] = 'no';
  return headers;
}
