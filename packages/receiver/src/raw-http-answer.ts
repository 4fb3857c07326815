/**
 * A complete HTTP/1.1 answer as text, for the one place no framework answers: a request Node's HTTP
 * parser could not read (fastify's `clientErrorHandler` gets the bare socket). Each server says what
 * the body is; this says how it goes on the wire, and that the connection then closes, since the
 * parser cannot resume after an error.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

/** Status of a request whose headers were too large; anything else the parser refuses is a 400. */
export function parserErrorStatus(error: NodeJS.ErrnoException): 400 | 431 {
  return error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
}

/** What the parser refused, in words for the answer's message. */
export function parserErrorMessage(error: NodeJS.ErrnoException): string {
  return parserErrorStatus(error) === 431 ? 'request headers too large' : `malformed HTTP request (${error.code ?? 'parse error'})`;
}

/** Writes `json` as the answer with `status`, then closes; a socket that cannot be written is destroyed. */
export function answerRawJson(socket: Socket, status: number, json: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
  );
}
