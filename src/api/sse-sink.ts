/**
 * A stand-in for node's ServerResponse that takes what a surface handler writes as SSE and hands
 * each event's data on: the base of the Responses WebSocket mode's sink (websocket-sink.ts) and of
 * the background responses' (background-sink.ts) and of the library's in-process calls
 * (src/library/in-process.ts). It emits 'finish' and 'close' as a ServerResponse
 * does, so the request's context ends the usual way; destroy() is a client gone mid-response ('close'
 * without 'finish': the upstream call aborted, the request logged 499).
 */
import { EventEmitter } from 'node:events';
import { SseParser } from '../gateway/sse.js';

export abstract class SseSink extends EventEmitter {
  headersSent = false;
  writableEnded = false;
  writableFinished = false;
  destroyed = false;
  statusCode = 200;
  private readonly parser = new SseParser();

  /** One event's data (never empty, never `[DONE]`), and its `event:` name when it has one. */
  protected abstract onEvent(data: string, name: string | undefined): void;

  /** After a write: false asks the writer to wait for 'drain' (default: never). */
  protected accepting(): boolean {
    return true;
  }

  /** The answer is over: ended or destroyed. */
  protected onClosed(): void {}

  writeHead(status: number): this {
    this.statusCode = status;
    this.headersSent = true;
    return this;
  }

  write(data: string | Buffer): boolean {
    if (this.destroyed || this.writableEnded) return false;
    if (!this.headersSent) this.writeHead(this.statusCode);
    for (const event of this.parser.push(data)) this.take(event.data, event.event);
    return this.accepting();
  }

  end(data?: string | Buffer): this {
    if (this.writableEnded) return this;
    if (data !== undefined && data.length > 0) this.write(data);
    if (!this.destroyed) for (const event of this.parser.end()) this.take(event.data, event.event);
    this.headersSent = true;
    this.writableEnded = true;
    this.writableFinished = true;
    this.emit('finish');
    this.emit('close');
    this.onClosed();
    return this;
  }

  destroy(): this {
    if (this.destroyed || this.writableFinished) return this;
    this.destroyed = true;
    this.writableEnded = true;
    this.emit('close');
    this.onClosed();
    return this;
  }

  protected take(data: string, name?: string): void {
    if (data.length === 0 || data === '[DONE]' || this.destroyed) return;
    this.onEvent(data, name);
  }
}
