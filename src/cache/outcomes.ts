/**
 * The cache and the pipeline's outcomes, both ways:
 *
 * - `cachedOutcome`: a stored (canonical) answer as an outcome the surface
 *   sends like any other, in the caller's format: whole, or replayed as a
 *   stream of canonical chunks (replay.ts) through the caller's stream encoder;
 * - `AnswerCapture`: the answer an upstream outcome carries, in canonical
 *   form: a whole answer decoded when the request ends (a pass-through's
 *   bytes are in the caller's format), a stream observed on the side as it is
 *   pumped and gathered into one answer only if it ends complete.
 */
import { chatCodecFor } from '../formats/registry.js';
import type { ChatCompletion, ChatCompletionChunk } from '../formats/openai/types.js';
import type { CodecContext, StreamDecoder } from '../formats/types.js';
import { createEventFramer, type EventFramer } from '../gateway/event-framer.js';
import type { JsonOutcome, Outcome, PipelineInput, StreamOutcome } from '../gateway/pipeline.js';
import type { Target } from '../gateway/router.js';
import { SseParser, type SseEvent } from '../gateway/sse.js';
import type { StreamBody, StreamSink, UpstreamResponse } from '../gateway/upstream.js';
import type { UpstreamFailure } from '../gateway/upstream-failure.js';
import { ChunkCollector, replayChunks } from './replay.js';

/** Canonical chunks written as SSE and read back as they are: the replay's own decoder. */
const canonicalDecoder: StreamDecoder = {
  onEvent(event: SseEvent): ChatCompletionChunk[] {
    return event.data === '[DONE]' ? [] : [JSON.parse(event.data) as ChatCompletionChunk];
  },
  onEnd: () => [],
};

/**
 * A replayed answer as a stream body: its events handed to the pump's sink in order, pausing when
 * the client's socket is full (the sink returns false) until resume().
 */
class ReplayBody {
  private sink: StreamSink | undefined;
  private next = 0;
  destroyed = false;

  constructor(private readonly events: Buffer[]) {}

  pipe(sink: StreamSink): void {
    this.sink = sink;
    this.resume();
  }

  resume(): void {
    const sink = this.sink;
    if (sink === undefined) return;
    while (!this.destroyed && this.next < this.events.length) {
      if (!sink.data(this.events[this.next++])) return;
    }
    if (!this.destroyed && this.next === this.events.length) {
      this.next++;
      sink.end();
    }
  }

  destroy(): void {
    this.destroyed = true;
  }
}

/** A stored answer as the outcome of the request (no upstream call). */
export function cachedOutcome(answer: ChatCompletion, stream: boolean, target: Target): Outcome {
  if (!stream) return { kind: 'json', target, passthrough: false, result: answer } satisfies JsonOutcome;
  const events = replayChunks(answer).map((chunk) => Buffer.from(`data: ${JSON.stringify(chunk)}\n\n`));
  events.push(Buffer.from('data: [DONE]\n\n'));
  const response: UpstreamResponse<StreamBody> = { status: 200, headers: {}, body: new ReplayBody(events) as unknown as StreamBody };
  return { kind: 'stream', target, passthrough: false, response, framing: 'sse', decoder: canonicalDecoder, finish: () => undefined } satisfies StreamOutcome;
}

/** The canonical answer of an upstream outcome, once the request is over. */
export class AnswerCapture {
  private answer: ChatCompletion | undefined;
  private decode: (() => ChatCompletion | undefined) | undefined;

  constructor(input: PipelineInput, outcome: Outcome, context: CodecContext) {
    if (outcome.kind === 'json') this.fromJson(input, outcome, context);
    else this.fromStream(input, outcome, context);
  }

  /** The answer, decoded on first use; undefined when there is none to store. */
  result(): ChatCompletion | undefined {
    if (this.decode !== undefined) {
      const decode = this.decode;
      this.decode = undefined;
      try {
        this.answer = decode();
      } catch {
        this.answer = undefined; // an answer we cannot read is not stored
      }
    }
    return this.answer;
  }

  private fromJson(input: PipelineInput, outcome: JsonOutcome, context: CodecContext): void {
    if (outcome.result !== undefined) {
      this.answer = outcome.result as ChatCompletion;
      return;
    }
    const raw = outcome.raw;
    if (raw === undefined) return;
    // A pass-through: the provider spoke the caller's format.
    const format = input.nativeFormat;
    this.decode = () => {
      const body = JSON.parse(raw.toString('utf8')) as unknown;
      if (format === 'openai') return body as ChatCompletion;
      return chatCodecFor(format)?.decodeResponse(body, context);
    };
  }

  private fromStream(input: PipelineInput, outcome: StreamOutcome, context: CodecContext): void {
    const format = outcome.passthrough ? input.nativeFormat : outcome.target.provider.definition.format;
    const decoder: StreamDecoder | undefined = format === 'openai' ? canonicalDecoder : chatCodecFor(format)?.createStreamDecoder(context);
    if (decoder === undefined) return;
    const framer: EventFramer | SseParser = outcome.framing === 'sse' ? new SseParser() : createEventFramer(outcome.framing);
    const collector = new ChunkCollector();
    const body = outcome.response.body;
    const pipe = body.pipe.bind(body);
    let broken = false;
    const take = (events: SseEvent[]): void => {
      for (const event of events) {
        if (event.data === '[DONE]') continue;
        for (const chunk of decoder.onEvent(event)) collector.add(chunk);
      }
    };
    // Observed on the side of the pump's own sink: what the client gets is not touched.
    body.pipe = (sink: StreamSink): void => {
      pipe({
        data: (chunk: Buffer): boolean => {
          if (!broken) {
            try {
              take(framer.push(chunk));
            } catch {
              broken = true;
            }
          }
          return sink.data(chunk);
        },
        end: (): void => {
          if (!broken) {
            try {
              take(framer.end());
              for (const chunk of decoder.onEnd()) collector.add(chunk);
              this.answer = collector.completion();
            } catch {
              this.answer = undefined;
            }
          }
          sink.end();
        },
        error: (failure: UpstreamFailure): void => {
          broken = true;
          sink.error(failure);
        },
      });
    };
  }
}
