/**
 * What a client gets back from one matrix case, whichever surface it called,
 * in one shape the expectations are checked against, and the raw call that
 * gets it (real sockets: undici, the stream read as it arrives).
 */
import { request } from 'undici';
import { SseParser, type SseEvent } from '../../src/gateway/sse.js';

export interface AssembledCall {
  id: string | undefined;
  name: string;
  /** The arguments as the client received them: the concatenated JSON text, or the object stringified. */
  arguments: string;
}

export interface Assembled {
  text: string;
  calls: AssembledCall[];
  /** The finish reason in the surface's own spelling (`stop`, `end_turn`, `STOP`, ...). */
  finish: string | undefined;
  usage: { input: number; output: number } | undefined;
  /**
   * Stream-shape problems: a tool call whose first delta lacks its id or name, arguments of two
   * parallel calls mixed, a finish sent twice, an error event, a missing end event...
   */
  problems: string[];
}

export function emptyAssembled(): Assembled {
  return { text: '', calls: [], finish: undefined, usage: undefined, problems: [] };
}

export interface SurfaceRequest {
  /** Path on the gateway, query included. */
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

export interface SurfaceReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
  /** The SSE events of a stream, parsed from the chunks as they arrived. */
  events: SseEvent[];
}

/** Sends one surface request to the gateway and reads the reply as a client would. */
export async function send(gatewayUrl: string, call: SurfaceRequest): Promise<SurfaceReply> {
  const response = await request(`${gatewayUrl}${call.path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...call.headers },
    body: JSON.stringify(call.body),
  });
  const parser = new SseParser();
  const events: SseEvent[] = [];
  const chunks: Buffer[] = [];
  const streamed = String(response.headers['content-type'] ?? '').startsWith('text/event-stream');
  for await (const chunk of response.body) {
    const bytes = chunk as Buffer;
    chunks.push(bytes);
    if (streamed) events.push(...parser.push(bytes));
  }
  if (streamed) events.push(...parser.end());
  const text = Buffer.concat(chunks).toString('utf8');
  let json: unknown;
  if (!streamed) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  return { status: response.statusCode, headers: response.headers, text, json, events };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses a stream event's JSON, noting a problem (and returning undefined) when it is not JSON. */
export function eventJson(event: SseEvent, problems: string[]): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(event.data);
    if (isRecord(value)) return value;
  } catch {
    // noted below
  }
  problems.push(`an event is not a JSON object: ${event.data.slice(0, 80)}`);
  return undefined;
}

/** Tool-call ids must be set and distinct, or parallel calls cannot be told apart. */
export function checkCallIds(calls: readonly AssembledCall[], problems: string[], required: boolean): void {
  const ids = calls.map((call) => call.id);
  if (required && ids.some((id) => id === undefined || id === '')) problems.push('a tool call has no id');
  const present = ids.filter((id) => id !== undefined && id !== '');
  if (new Set(present).size !== present.length) problems.push(`tool call ids repeat: ${present.join(', ')}`);
}
