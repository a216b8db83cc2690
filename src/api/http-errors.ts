/**
 * Errors of the HTTP layer itself, answered in the caller's format like every
 * other error (the surface is known from the URL prefix): a request Node's
 * parser refuses (headers too large: 431; a malformed request line, header or
 * Content-Length: 400), an `Expect` header other than 100-continue (417), and
 * a URL Fastify cannot decode (a bad percent-encoding: 400).
 */
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { GatewayError } from '../errors/gateway-error.js';
import type { Logger } from '../telemetry/logger.js';
import { safeLine } from '../telemetry/logger.js';
import { errorFormatOfPath, renderRawError, writeRawError } from './raw-error.js';
import { requestIdOf } from './fast-lane.js';

type ClientError = Error & { code?: string; rawPacket?: unknown };

/** The path of the request line at the start of what the parser had read ('' when there is none). */
function pathOfPacket(packet: unknown): string {
  if (!Buffer.isBuffer(packet)) return '';
  const line = packet.subarray(0, 2048).toString('latin1');
  const match = /^[A-Z]+ (\S+)/.exec(line);
  return match === null ? '' : match[1];
}

function errorOfParser(error: ClientError): GatewayError {
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    return new GatewayError('HD_ERR_REQUEST_HEADERS_TOO_LARGE', 'The request headers are larger than this server accepts.');
  }
  return new GatewayError('HD_ERR_REQUEST_INVALID_FIELD', `The HTTP request is malformed (${error.code ?? 'parse error'}).`);
}

/** Fastify's clientErrorHandler: what node:http could not parse, answered on the socket in the caller's format. */
export function clientErrorHandler(logger: Logger, onRefusal: (path: string, status: number) => void) {
  return (error: ClientError, socket: Socket): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    if (!socket.writable) {
      socket.destroy(error);
      return;
    }
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      socket.end(`HTTP/1.1 408 ${STATUS_CODES[408]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    const path = pathOfPacket(error.rawPacket);
    const { status, headers, body } = renderRawError(errorOfParser(error), errorFormatOfPath(path), undefined);
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Bad Request'}\r\nConnection: close\r\n`;
    for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
    socket.end(`${head}\r\n${body}`);
    logger.info(safeLine({ msg: 'request', route: path.split('?')[0] || undefined, status, error: error.code }));
    onRefusal(path, status);
  };
}

/** node:http's 'checkExpectation': an Expect value other than 100-continue. */
export function expectationFailed(request: IncomingMessage, response: ServerResponse): void {
  const path = request.url ?? '/';
  writeRawError(
    response,
    requestIdOf(request.headers),
    new GatewayError('HD_ERR_REQUEST_EXPECTATION', `The expectation "${String(request.headers.expect).slice(0, 100)}" is not supported; only "100-continue" is.`),
    errorFormatOfPath(path),
  );
}

/** Fastify's frameworkErrors: a URL it cannot decode, in the caller's format. */
export function badUrl(url: string): GatewayError {
  return new GatewayError('HD_ERR_REQUEST_BAD_URL', `The URL "${url.split('?')[0].slice(0, 200)}" has a malformed percent-encoding.`);
}
