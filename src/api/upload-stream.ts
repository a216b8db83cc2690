/**
 * A multipart upload read as it arrives (audio transcriptions and
 * translations): the gateway reads only as far as the `model` field it routes
 * by, then sends what it read (the model rewritten for the target) followed by
 * the rest of the caller's bytes as they come, so a file after the model field
 * is never held whole. A file sent before the model field (the order the
 * caller's form gives) is held until the model arrives, within the body limit
 * (`limits.max_body_bytes`, counted by body-limit.ts as the bytes stream).
 */
import { Readable } from 'node:stream';
import { GatewayError } from '../errors/gateway-error.js';
import { multipartTextFields, replaceTextField } from './multipart-fields.js';
import { UploadPartScan } from './upload-parts.js';

const MODEL_HEADER = Buffer.from('name="model"');

export class StreamedUpload {
  /** What was read to find the model field (every part before it, and it). */
  private head: Buffer = Buffer.alloc(0);
  private taken = false;
  /** The body went over the limit (or the caller went away) while it streamed. */
  failure: Error | undefined;
  fields: Map<string, string[]> = new Map();
  /** The upload's file parts and size, noted as its bytes pass (the request log's preview). */
  readonly scan = new UploadPartScan();

  constructor(
    private readonly payload: Readable,
    private readonly boundary: string,
    /** The caller's Content-Length, when it sent one. */
    private readonly length: number | undefined,
  ) {}

  /** Reads until the `model` field is complete (or the body ends). */
  async readHead(): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    let seen = false;
    let tail: Buffer = Buffer.alloc(0);
    // Not destroyed when left: the rest of the body stays in the stream for body().
    const iterator = this.payload.iterator({ destroyOnReturn: false });
    for (;;) {
      let next: IteratorResult<unknown>;
      try {
        next = await iterator.next();
      } catch (error) {
        throw toGatewayError(error);
      }
      if (next.done === true) break;
      const chunk = next.value as Buffer;
      this.scan.push(chunk);
      chunks.push(chunk);
      size += chunk.length;
      // The field's header may be cut across chunks: the last bytes of the previous one are searched too.
      seen ||= Buffer.concat([tail, chunk]).includes(MODEL_HEADER);
      tail = chunk.subarray(Math.max(0, chunk.length - MODEL_HEADER.length));
      if (!seen) continue;
      const head = Buffer.concat(chunks, size);
      const fields = multipartTextFields(head, this.boundary);
      if (fields.has('model')) {
        this.head = head;
        this.fields = fields;
        return;
      }
    }
    this.head = Buffer.concat(chunks, size);
    this.fields = multipartTextFields(this.head, this.boundary);
  }

  /** The upload for one target: the head with its model rewritten, then the rest as it arrives. Once only. */
  body(model: string): { stream: Readable; length: number | undefined } {
    if (this.taken) throw new GatewayError('HD_ERR_INTERNAL', 'A streamed upload can be sent once only.');
    this.taken = true;
    const head = replaceTextField(this.head, this.boundary, 'model', model);
    const length = this.length === undefined ? undefined : this.length + head.length - this.head.length;
    const payload = this.payload;
    const scan = this.scan;
    const onFailure = (error: unknown): Error => {
      this.failure = toGatewayError(error);
      return this.failure;
    };
    async function* chunks(): AsyncGenerator<Buffer> {
      yield head;
      try {
        for await (const chunk of payload) {
          scan.push(chunk as Buffer);
          yield chunk as Buffer;
        }
      } catch (error) {
        throw onFailure(error);
      }
    }
    return { stream: Readable.from(chunks(), { objectMode: false }), length };
  }
}

/** The body limit's error (Fastify's FST_ERR_CTP_BODY_TOO_LARGE) as the caller's 413; a dropped upload as it is. */
function toGatewayError(error: unknown): Error {
  if ((error as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new GatewayError('HD_ERR_REQUEST_TOO_LARGE', 'The upload is larger than the limit (limits.max_body_bytes).');
  }
  return error as Error;
}
