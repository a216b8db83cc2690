/**
 * The in-process sink a library call's handler writes to: SSE in, events out, with backpressure
 * (write() says wait past HIGH_WATER_EVENTS unread events; reading on emits 'drain'), an error event
 * thrown at its place in the stream, a stream cut by the gateway thrown, and a caller's break ending
 * the exchange as a client disconnect ('close' without 'finish').
 */
import { describe, expect, it } from 'vitest';
import { HIGH_WATER_EVENTS, InProcessSink, type InProcessAnswer } from '../../src/library/in-process.js';
import { HeimdallError } from '../../src/library/heimdall-error.js';

const SSE = { 'content-type': 'text/event-stream' };

function started(): { sink: InProcessSink; answers: InProcessAnswer[] } {
  const answers: InProcessAnswer[] = [];
  const sink = new InProcessSink((answer) => answers.push(answer));
  sink.writeHead(200, SSE);
  return { sink, answers };
}

const event = (n: number): string => `data: {"n":${n}}\n\n`;

describe('InProcessSink', () => {
  it('answers with the stream at its head; events arrive in order, split anywhere', async () => {
    const { sink, answers } = started();
    expect(answers).toMatchObject([{ kind: 'stream', status: 200, headers: { 'content-type': 'text/event-stream' } }]);
    const text = event(1) + event(2) + 'data: [DONE]\n\n';
    sink.write(text.slice(0, 7));
    sink.write(text.slice(7, 20));
    sink.end(text.slice(20));
    const seen: unknown[] = [];
    for await (const item of sink) seen.push(item);
    expect(seen).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('write() asks to wait past the high-water mark; reading on emits drain', async () => {
    const { sink } = started();
    let accepted = true;
    let written = 0;
    while (accepted) accepted = sink.write(event(written++));
    expect(written).toBe(HIGH_WATER_EVENTS);
    let drained = false;
    sink.once('drain', () => {
      drained = true;
    });
    for (let i = 0; i < HIGH_WATER_EVENTS / 2; i++) {
      expect((await sink.next()).value).toEqual({ n: i });
      expect(drained).toBe(i >= HIGH_WATER_EVENTS / 2 - 1);
    }
    expect(drained).toBe(true);
  });

  it('an error event throws a HeimdallError after the events before it', async () => {
    const { sink } = started();
    sink.write(event(1));
    sink.end('event: error\ndata: {"type":"error","error":{"type":"api_error","message":"upstream broke"}}\n\n');
    expect((await sink.next()).value).toEqual({ n: 1 });
    const failure = await sink.next().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(HeimdallError);
    expect(failure).toMatchObject({ status: 502, message: '502: upstream broke' });
  });

  it('a stream the gateway cuts (destroyed before its end) throws; a break closes it as a disconnect', async () => {
    const cut = started().sink;
    cut.write(event(1));
    cut.destroy();
    expect((await cut.next()).value).toEqual({ n: 1 });
    await expect(cut.next()).rejects.toBeInstanceOf(HeimdallError);

    const { sink } = started();
    let finished = false;
    let closed = false;
    sink.once('finish', () => (finished = true));
    sink.once('close', () => (closed = true));
    sink.write(event(1));
    sink.write(event(2));
    for await (const item of sink) {
      expect(item).toEqual({ n: 1 });
      break;
    }
    expect({ closed, finished, destroyed: sink.destroyed }).toEqual({ closed: true, finished: false, destroyed: true });
    expect(sink.write(event(3))).toBe(false);
  });

  it('a body written on the raw response (an error) is one JSON answer', () => {
    const answers: InProcessAnswer[] = [];
    const sink = new InProcessSink((answer) => answers.push(answer));
    sink.writeHead(503, { 'content-type': 'application/json', 'retry-after': 1 });
    sink.end('{"error":{"message":"overloaded"}}');
    expect(answers).toEqual([{ kind: 'json', status: 503, headers: { 'content-type': 'application/json', 'retry-after': '1' }, body: { error: { message: 'overloaded' } } }]);
  });
});
