/**
 * Errors written straight on node's response, for the answers given before
 * (or instead of) a Fastify reply: refusals in the server's request listener,
 * errors of the HTTP layer, and a failure after the reply was handed over.
 * Same body as every other error (render.ts), in the caller's format.
 */
import type { ServerResponse } from 'node:http';
import type { GatewayError } from '../errors/gateway-error.js';
import { renderError, type ErrorFormat } from '../errors/render.js';

/** The caller's format from the URL prefix, as the surfaces are mounted (/anthropic, /genai, the rest OpenAI). */
export function errorFormatOfPath(url: string): ErrorFormat {
  if (url.startsWith('/anthropic/')) return 'anthropic';
  if (url.startsWith('/genai/')) return 'gemini';
  return 'openai';
}

/** The rendered error as a whole response (closing the connection when `close`); returns its status. */
export function renderRawError(error: GatewayError, format: ErrorFormat, requestId: string | undefined): { status: number; headers: Record<string, string>; body: string } {
  const rendered = renderError(error, format);
  const body = JSON.stringify(rendered.body);
  const headers: Record<string, string> = { ...rendered.headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
  if (requestId !== undefined) headers['x-request-id'] = requestId;
  return { status: rendered.status, headers, body };
}

/** Writes the error as the response; returns its status. A response that cannot be written is destroyed. */
export function writeRawError(response: ServerResponse, requestId: string | undefined, error: GatewayError, format: ErrorFormat): number {
  const { status, headers, body } = renderRawError(error, format, requestId);
  try {
    response.writeHead(status, headers);
    response.end(body);
  } catch {
    response.destroy();
  }
  return status;
}
