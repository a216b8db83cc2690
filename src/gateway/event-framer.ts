/** Framers split an upstream byte stream into events: SSE, or AWS binary event-stream (Bedrock). */
import type { SseEvent } from './sse.js';

export interface EventFramer {
  push(chunk: Uint8Array): SseEvent[];
  end(): SseEvent[];
}

type FramerFactory = () => EventFramer;

const FACTORIES = new Map<string, FramerFactory>();

/** Registered by the formats that need a framing other than SSE. */
export function registerEventFramer(framing: string, factory: FramerFactory): void {
  FACTORIES.set(framing, factory);
}

export function createEventFramer(framing: string): EventFramer {
  const factory = FACTORIES.get(framing);
  if (factory === undefined) throw new Error(`no event framer for "${framing}"`);
  return factory();
}
