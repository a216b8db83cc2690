/**
 * Cluster mode: before POST /v1/responses reads a stored response (previous_response_id) or stored
 * items (item_reference), they are copied from Postgres into this instance's store when another
 * instance stored them (src/store/pg/response-store.ts). Requests that name neither pass untouched
 * (one byte search each); with one store (no Postgres) this wrapper is not installed.
 */
import type { ResponseStore, StoredResponseIds } from '../store/response-store.js';
import type { LaneHandler } from './fast-lane.js';
import { readBody } from './openai.js';

const PREVIOUS_KEY = Buffer.from('"previous_response_id"');
const REFERENCE_KEY = Buffer.from('"item_reference"');

/** The stored responses and items a Responses API body names. */
export function storedIdsOf(body: Record<string, unknown>): StoredResponseIds {
  const responses = typeof body.previous_response_id === 'string' && body.previous_response_id !== '' ? [body.previous_response_id] : [];
  const items: string[] = [];
  if (Array.isArray(body.input)) {
    for (const item of body.input as unknown[]) {
      const { type, id } = (item ?? {}) as { type?: unknown; id?: unknown };
      if (type === 'item_reference' && typeof id === 'string' && id !== '') items.push(id);
    }
  }
  return { responses, items };
}

export function withSharedResponses(serve: LaneHandler, responses: ResponseStore): LaneHandler {
  return async (request, reply) => {
    const raw = request.body;
    if (Buffer.isBuffer(raw) && (raw.indexOf(PREVIOUS_KEY) !== -1 || raw.indexOf(REFERENCE_KEY) !== -1)) {
      let ids: StoredResponseIds | undefined;
      try {
        ids = storedIdsOf(readBody(raw).body);
      } catch {
        // not JSON: answered by serve, in the usual way
      }
      if (ids !== undefined && ids.responses.length + (ids.items?.length ?? 0) > 0) await responses.hydrate(ids);
    }
    return serve(request, reply);
  };
}
