/**
 * `limits.max_body_bytes` as a live setting. Fastify fixes its body limit when
 * the server is built, so the server gets a ceiling and this preParsing hook
 * enforces the current limit: a Content-Length above it is refused before a
 * byte is read; a chunked body is counted as it streams and cut at the limit.
 * Both end as Fastify's own FST_ERR_CTP_BODY_TOO_LARGE (413), which the app's
 * error handler renders in the caller's format.
 */
import { pipeline, Transform, type TransformCallback } from 'node:stream';
import { errorCodes, type FastifyInstance } from 'fastify';

/** The server-level limit; the real one is checked per request. */
export const BODY_LIMIT_CEILING = Number.MAX_SAFE_INTEGER;

class LimitedBody extends Transform {
  #received = 0;

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#received += chunk.length;
    if (this.#received > this.limit) {
      callback(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      return;
    }
    callback(null, chunk);
  }
}

/**
 * The management API always takes at least this much, so a tiny limit set
 * through it cannot lock the API out of setting it back.
 */
export const ADMIN_BODY_FLOOR = 1024 * 1024;

/** Enforces `limit()` (read per request) on every route of the app. */
export function enforceBodyLimit(app: FastifyInstance, limit: () => number): void {
  app.addHook('preParsing', (request, _reply, payload, done) => {
    const max = request.url.startsWith('/api/') ? Math.max(limit(), ADMIN_BODY_FLOOR) : limit();
    const length = request.headers['content-length'];
    if (length !== undefined) {
      if (Number(length) > max) done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      else done(null, payload);
      return;
    }
    if (request.headers['transfer-encoding'] === undefined) {
      done(null, payload);
      return;
    }
    // pipeline() passes a client abort on to the counted stream (pipe() would leave it hanging).
    done(null, pipeline(payload, new LimitedBody(max), () => undefined));
  });
}
