// Foundries-compatible POST /sign on a listener of its own (`imprint pairing serve --sign-port`). Devices open
// a fresh connection per registration, and on that traffic Node's HTTP server and Fastify cost more than
// all of a lean server does: for /sign-shaped requests (1.5 KiB of JSON in, 3 KiB out, a new connection
// each) a bare `net` server spends 111–129 µs of CPU per request, `http.createServer` 168–191 and Fastify
// 203–234 (docs/performance.md). This server speaks the one exchange lmp-device-register makes and refuses
// everything else with a clear status, never a guess:
// - one request per connection, HTTP/1.0 or 1.1, answered with `Connection: close`;
// - a body framed by one Content-Length (a chunked body is 411: send its length; two lengths are 400);
// - `Expect: 100-continue` (libcurl sends it before larger bodies) is answered before the body is read;
// - the request line and headers within 16 KiB (431), the body within the server's limit (413), the
//   whole request within 30 s (408);
// - routes decided on the parsed path: POST and HEAD /sign, 405 for other methods on it, 404 elsewhere.
// The answers, their bodies and codes, the metrics and the audit are those of the Fastify route
// (sign-routes.ts), which stays on the main port.
import { STATUS_CODES } from 'node:http';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import { createSecureContext, TLSSocket } from 'node:tls';
import type { Logger } from '../../common/logger.ts';
import { coreErrorAnswer, type ErrorAnswer, internalErrorAnswer } from './error-replies.ts';
import type { PairingMetrics } from './metrics.ts';
import { listeningUrl } from './route-context.ts';
import type { SignApi } from './sign-routes.ts';

export interface SignListenerOptions {
  sign: SignApi;
  metrics: PairingMetrics;
  logger: Logger;
  /** Largest accepted body, bytes (the main server's limit). */
  bodyLimit: number;
  /** Serve HTTPS with this certificate and key (PEM), as the main port does. */
  tls?: { cert: string; key: string };
  /** How long one connection may take to send its request, ms (default 30 s). */
  requestTimeoutMs?: number;
}

export interface RunningSignListener {
  url: string;
  close(): Promise<void>;
}

/** The request line and headers may take this many bytes. */
export const MAX_HEAD_BYTES = 16 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP\/1\.([01])$/;
const HEADER_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([^\x00-\x08\x0a-\x1f\x7f]*?)[ \t]*$/;

const answer = (status: number, detail: string, code = 'BAD_REQUEST'): ErrorAnswer => ({
  status,
  body: { errors: { detail } },
  code,
});
const NOT_FOUND = answer(404, 'Page not found', 'NOT_FOUND');

let dateSecond = -1;
let dateText = '';
/** The Date header's value, formatted once a second (as Node's HTTP server does). */
function httpDate(now: number): string {
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString();
  }
  return dateText;
}

/** The bytes of a whole response: status line, headers (`Connection: close`), body. */
export function responseBytes(status: number, body: string, extra = '', now = Date.now()): Buffer {
  const json = body === '' ? '' : 'content-type: application/json; charset=utf-8\r\n';
  const head =
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n${json}content-length: ${Buffer.byteLength(body)}\r\n` +
    `date: ${httpDate(now)}\r\nconnection: close\r\n${extra}\r\n`;
  return Buffer.from(head + body, 'utf8');
}

interface RequestHead {
  method: string;
  path: string;
  contentLength: number | undefined;
  chunked: boolean;
  contentType: string | undefined;
  expect: string | undefined;
}

/** The request line and headers (latin1 text without the final CRLF CRLF), or the answer refusing them. */
export function parseHead(text: string): RequestHead | ErrorAnswer {
  const lines = text.split('\r\n');
  const line = REQUEST_LINE.exec(lines[0] ?? '');
  if (!line) return answer(400, 'Bad request');
  const head: RequestHead = {
    method: line[1] ?? '',
    path: (line[2] ?? '').split('?')[0] ?? '',
    contentLength: undefined,
    chunked: false,
    contentType: undefined,
    expect: undefined,
  };
  let lengths = 0;
  for (let i = 1; i < lines.length; i++) {
    // A folded line (obsolete) or any byte outside a header's grammar: refused, never reinterpreted.
    const h = HEADER_LINE.exec(lines[i] ?? '');
    if (!h) return answer(400, 'Bad request');
    const name = (h[1] ?? '').toLowerCase();
    const value = h[2] ?? '';
    if (name === 'content-length') {
      if (++lengths > 1 || !/^\d{1,15}$/.test(value)) return answer(400, 'Bad request');
      head.contentLength = Number(value);
    } else if (name === 'transfer-encoding') head.chunked = true;
    else if (name === 'content-type') head.contentType = value;
    else if (name === 'expect') head.expect = value.toLowerCase();
  }
  return head;
}

/** What a request with this head gets before its body is read: undefined when the body is wanted. */
function refusalOf(head: RequestHead, bodyLimit: number): ErrorAnswer | 'head' | undefined {
  if (head.path !== '/sign' && head.path !== '/sign/') return NOT_FOUND;
  if (head.method === 'HEAD') return 'head';
  if (head.method !== 'POST') return answer(405, 'Method not allowed');
  // Both framings, or a chunked body: the one framing this server reads is Content-Length.
  if (head.chunked) return answer(411, 'Send the body with a Content-Length (chunked bodies are not accepted here)');
  if (head.contentLength === undefined) return answer(411, 'Length required');
  if (head.contentLength > bodyLimit) return answer(413, 'Request entity too large');
  if (head.expect !== undefined && head.expect !== '100-continue') return answer(417, 'Expectation failed');
  const media = (head.contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (media !== 'application/json') return answer(415, 'Unsupported media type');
  return undefined;
}

export async function listenSign(opts: SignListenerOptions & { host: string; port: number }): Promise<RunningSignListener> {
  const timeoutMs = opts.requestTimeoutMs ?? 30_000;
  // One sweep for the deadline of every connection still sending its request, instead of a timer per
  // socket (Node re-arms a socket's timer on every read and write).
  const live = new Set<SignExchange>();
  const sweep = setInterval(
    () => {
      const now = performance.now();
      for (const x of live) if (x.expired(now, timeoutMs)) live.delete(x);
    },
    Math.min(1000, Math.max(25, timeoutMs / 4)),
  );
  sweep.unref();
  // TLS on each accepted connection here rather than by a tls.Server: a connection is an exchange from
  // its accept, so the request's deadline covers the handshake and shutdown cuts one stuck in it. A failed
  // handshake (a plain HTTP client on the HTTPS port, a scanner) is that connection's error only.
  const secureContext = opts.tls ? createSecureContext({ cert: opts.tls.cert, key: opts.tls.key }) : undefined;
  const onConnection = (raw: Socket) => {
    const socket = secureContext ? new TLSSocket(raw, { isServer: true, secureContext }) : raw;
    const x = new SignExchange(socket, opts, live);
    live.add(x);
    x.start();
  };
  // Half-open allowed: a client that sends its request and then closes its side (shutdown(SHUT_WR)) still
  // gets its answer, written before the connection closes.
  const server: Server = createNetServer({ allowHalfOpen: true }, onConnection);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    clearInterval(sweep);
    throw e;
  }
  return {
    url: listeningUrl(opts.tls !== undefined, opts.host, server.address(), opts.port),
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(sweep);
        // Resolves once every connection has ended: one waiting for its answer gets it first, one still
        // sending its request is cut.
        server.close(() => resolve());
        for (const x of live) x.cut();
        live.clear();
      }),
  };
}

/** One connection: read its request, answer it once, close. */
class SignExchange {
  readonly #socket: Socket;
  readonly #opts: SignListenerOptions;
  readonly #start = performance.now();
  #chunks: Buffer[] = [];
  #bytes = 0;
  /** The last bytes read before the head's end was found (a CRLF CRLF may straddle two reads). */
  #tail: Buffer | undefined;
  #head: RequestHead | undefined;
  #bodyStart = 0;
  /** Exchanges still reading their request (the sweep's and the shutdown's). */
  readonly #reading: Set<SignExchange>;
  /** The request was read (or refused): no more bytes are looked at. */
  #done = false;

  constructor(socket: Socket, opts: SignListenerOptions, reading: Set<SignExchange>) {
    this.#socket = socket;
    this.#opts = opts;
    this.#reading = reading;
  }

  start(): void {
    const s = this.#socket;
    s.on('data', this.#onData.bind(this));
    // A reset or a half-sent request: nothing was started, nothing to answer.
    s.on('error', this.#onError.bind(this));
  }

  /** For the sweep: whether this exchange stopped reading (gone, or now refused for taking too long). */
  expired(now: number, timeoutMs: number): boolean {
    if (this.#done || this.#socket.destroyed) return true;
    if (now - this.#start < timeoutMs) return false;
    // Nothing read on TLS: the handshake may not even be done, so there is no channel for a 408.
    if (this.#bytes === 0 && this.#socket instanceof TLSSocket) this.#socket.destroy();
    else this.#refuse(answer(408, 'Request timeout'), this.#head?.method ?? 'GET');
    return true;
  }

  /** At shutdown: a connection still sending its request is cut (one being answered finishes). */
  cut(): void {
    this.#socket.destroy();
  }

  #onError(err: Error): void {
    this.#opts.logger.debug({ err: { message: err.message } }, 'sign listener: connection failed');
    this.#done = true;
  }

  #onData(chunk: Buffer): void {
    if (this.#done) return;
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    if (this.#head === undefined && !this.#readHead(chunk)) return;
    const head = this.#head;
    if (head === undefined || head.contentLength === undefined) return;
    if (this.#bytes - this.#bodyStart < head.contentLength) return;
    const all = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks);
    this.#chunks = [];
    // Bytes after the body (a pipelined request) are not read: the answer closes the connection.
    this.#sign(all.toString('utf8', this.#bodyStart, this.#bodyStart + head.contentLength));
  }

  /** Whether the head is complete and its body wanted (else it was answered, or more bytes are needed). */
  #readHead(chunk: Buffer): boolean {
    // Only the new bytes (and the three before them) are searched: a head sent a byte at a time costs
    // linear time, not quadratic.
    const probe = this.#tail ? Buffer.concat([this.#tail, chunk]) : chunk;
    const at = probe.indexOf(HEAD_END);
    const end = at < 0 ? -1 : this.#bytes - probe.length + at;
    if (end < 0 || end > MAX_HEAD_BYTES) {
      // Without its end yet, the head may hold up to 3 bytes of its closing CRLF CRLF beyond the limit.
      if (end > MAX_HEAD_BYTES || (end < 0 && this.#bytes > MAX_HEAD_BYTES + 3)) {
        this.#refuse(answer(431, 'Request header fields too large'), 'GET');
      }
      this.#tail = probe.subarray(Math.max(0, probe.length - 3));
      return false;
    }
    const all = this.#chunks.length === 1 ? chunk : Buffer.concat(this.#chunks);
    this.#chunks = [all];
    this.#tail = undefined;
    const head = parseHead(all.toString('latin1', 0, end));
    if (!('method' in head)) {
      this.#refuse(head, 'GET');
      return false;
    }
    const refusal = refusalOf(head, this.#opts.bodyLimit);
    if (refusal === 'head') {
      this.#send(204, '', head.method, '/sign');
      return false;
    }
    if (refusal) {
      this.#refuse(refusal, head.method, head.path === '/sign' || head.path === '/sign/' ? '/sign' : 'unmatched');
      return false;
    }
    this.#head = head;
    this.#bodyStart = end + HEAD_END.length;
    if (head.expect === '100-continue' && all.length - this.#bodyStart < (head.contentLength ?? 0)) {
      this.#socket.write('HTTP/1.1 100 Continue\r\n\r\n');
    }
    return true;
  }

  #sign(text: string): void {
    this.#done = true;
    this.#reading.delete(this);
    this.#opts.sign.signText(text).then(this.#signed.bind(this), this.#failed.bind(this));
  }

  #signed(reply: unknown): void {
    this.#opts.metrics.count('signs');
    this.#send(201, JSON.stringify(reply), 'POST', '/sign');
  }

  #failed(err: unknown): void {
    let a = coreErrorAnswer(err);
    if (!a) {
      // A fault of the core (its CA, its store, a bug): logged with its stack, answered without details.
      this.#opts.logger.error({ err }, 'pairing request failed');
      a = internalErrorAnswer();
    }
    this.#refuse(a, 'POST', '/sign');
  }

  #refuse(a: ErrorAnswer, method: string, route = 'unmatched'): void {
    let extra = `x-imprint-error: ${a.code}\r\n`;
    if (a.status === 503) extra += 'retry-after: 1\r\n';
    if (a.status === 405) extra += 'allow: POST, HEAD\r\n';
    this.#send(a.status, JSON.stringify(a.body), method, route, extra);
  }

  #send(status: number, body: string, method: string, route: string, extra = ''): void {
    this.#done = true;
    this.#reading.delete(this);
    const s = this.#socket;
    const seconds = (performance.now() - this.#start) / 1000;
    this.#opts.metrics.observeRequest(method, route, status, seconds);
    this.#opts.logger.debug({ method, url: route, status, ms: Math.round(seconds * 10000) / 10 }, 'request');
    if (s.destroyed) return;
    // A HEAD answer has no body; the length it states is the body's a GET would get (none here).
    // Closed once written, as Node's HTTP server does with `Connection: close`: a client that keeps the
    // connection open after its answer holds nothing of ours.
    s.end(responseBytes(status, method === 'HEAD' ? '' : body, extra), () => s.destroy());
  }
}
