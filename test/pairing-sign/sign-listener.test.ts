// The lean POST /sign listener (`imprint pairing serve --sign-port`, src/pairing/http/sign-listener.ts):
// what lmp-device-register gets from it, the same answers as the main port's Fastify route, and the
// HTTP/1.1 framing rules it enforces, driven byte for byte through raw sockets on 127.0.0.1.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { AuditTrail } from '../../src/audit/audit-trail.ts';
import { silentLogger } from '../../src/common/logger.ts';
import { DbError } from '../../src/db/db-errors.ts';
import { ClaimService } from '../../src/pairing/claims/claim-service.ts';
import { ClaimSigningKey } from '../../src/pairing/claims/claim-token.ts';
import { CoreAudit, openCoreAuditTrail } from '../../src/pairing/core-audit.ts';
import { type SignReply, SignService } from '../../src/pairing/foundries/sign-service.ts';
import { PairingMetrics } from '../../src/pairing/http/metrics.ts';
import { type RunningPairingServer, servePairing } from '../../src/pairing/http/server.ts';
import { listenSign, MAX_HEAD_BYTES, type RunningSignListener } from '../../src/pairing/http/sign-listener.ts';
import type { SignApi } from '../../src/pairing/http/sign-routes.ts';
import { PairingError } from '../../src/pairing/pairing-errors.ts';
import { openssl, tempDir } from '../helpers/ca-csr.ts';
import { openTestCore, type TestCore } from '../helpers/pairing-core.ts';
import { makeAgentKeyPair } from '../helpers/pairing-keys.ts';
import { selfSignedTls } from '../helpers/self-signed-tls.ts';
import { assertSignedFiles, lmpRequest, readText, writeSotaDir } from './lmp-request.ts';

const FACTORY = 'acme-plant';
const BODY_LIMIT = 64 * 1024; // servePairing's default bodyLimit
const REPLY_MS = 15_000;
const CRLF = '\r\n';

let t: TestCore;
let trail: AuditTrail;
let sign: SignService;
let claims: ClaimService;
let server: RunningPairingServer;
/** The main (Fastify) port's base URL and the sign listener's. */
let mainUrl: string;
let signUrl: string;
let signPort: number;
const cleanups: Array<() => Promise<void> | void> = [];

before(async () => {
  t = await openTestCore();
  trail = openCoreAuditTrail(t.dataDir);
  const audit = new CoreAudit(trail);
  claims = new ClaimService(t.core, await ClaimSigningKey.loadOrCreate(t.dataDir), { audit });
  await t.core.createRealm({ name: 'fio', publicKeyPem: makeAgentKeyPair().publicKeyPem, factory: FACTORY });
  sign = await SignService.open(t.core, { realm: 'fio', audit, gatewayUrl: 'https://gw.plant.test:8443' });
  server = await servePairing({ core: t.core, claims, sign, host: '127.0.0.1', port: 0, signPort: 0 });
  mainUrl = server.url;
  assert.ok(server.signUrl, 'servePairing with signPort and sign starts the sign listener');
  signUrl = server.signUrl;
  signPort = Number(new URL(signUrl).port);
});

after(async () => {
  for (const c of cleanups.reverse()) await c();
  await server?.close();
  trail?.close();
  await t?.cleanup();
});

// ---------------------------------------------------------------------------------------------------------
// Clients

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON bodies
type Json = any;

/** POST /sign with fetch, as lmp-device-register's libcurl would (Content-Length framed JSON). */
async function post(base: string, text: string, contentType = 'application/json') {
  const res = await fetch(`${base}/sign`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: text,
    signal: AbortSignal.timeout(REPLY_MS),
  });
  const raw = await res.text();
  let body: Json = raw;
  try {
    body = JSON.parse(raw);
  } catch {}
  return { status: res.status, body, headers: res.headers };
}

interface Reply {
  /** Everything received, latin1. */
  text: string;
  /** The final (non-1xx) answer. */
  status: number;
  headers: Record<string, string>;
  /** How many times each header name occurs in the final answer. */
  headerCount: Record<string, number>;
  body: string;
  /** Final (non-1xx) status lines in everything received: one request, one answer. */
  finalAnswers: number;
  /** The server sent FIN (end of stream) before the client closed anything. */
  serverClosed: boolean;
  /** A socket error seen by the client (ECONNRESET, EPIPE), if any. */
  error?: string;
}

function parseReply(text: string, serverClosed: boolean, error?: string): Reply {
  let rest = text;
  // Interim answers (100 Continue) come first, each a status line and an empty line.
  while (/^HTTP\/1\.[01] 1\d\d /.test(rest)) {
    const end = rest.indexOf(CRLF + CRLF);
    if (end < 0) break;
    rest = rest.slice(end + 4);
  }
  const end = rest.indexOf(CRLF + CRLF);
  const head = end < 0 ? rest : rest.slice(0, end);
  const [statusLine = '', ...lines] = head.split(CRLF);
  const m = /^HTTP\/1\.[01] (\d{3}) /.exec(statusLine);
  const headers: Record<string, string> = {};
  const headerCount: Record<string, number> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    if (i < 0) continue;
    const name = l.slice(0, i).trim().toLowerCase();
    headers[name] = l.slice(i + 1).trim();
    headerCount[name] = (headerCount[name] ?? 0) + 1;
  }
  return {
    text,
    status: m ? Number(m[1]) : 0,
    headers,
    headerCount,
    body: end < 0 ? '' : Buffer.from(rest.slice(end + 4), 'latin1').toString('utf8'),
    finalAnswers: (text.match(/(?:^|\r\n)HTTP\/1\.[01] [2-5]\d\d /g) ?? []).length,
    serverClosed,
    error,
  };
}

/** A raw TCP client: writes what the test says, keeps every byte received, knows when the server closed. */
class RawClient {
  readonly socket: Socket;
  #chunks: Buffer[] = [];
  #serverClosed = false;
  #closed = false;
  #error: string | undefined;
  #waiters: Array<() => void> = [];

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      this.#chunks.push(d);
      this.#wake();
    });
    socket.on('end', () => {
      this.#serverClosed = true;
      this.#wake();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      this.#error = e.code ?? e.message;
      this.#wake();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
  }

  static connect(port: number, opts: { allowHalfOpen?: boolean } = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = netConnect({ host: '127.0.0.1', port, allowHalfOpen: opts.allowHalfOpen ?? false });
      s.once('connect', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  get text(): string {
    return Buffer.concat(this.#chunks).toString('latin1');
  }

  get finished(): boolean {
    return this.#serverClosed || this.#closed;
  }

  /** Writes bytes (ignored once the socket is gone: the server may have answered and closed already). */
  write(data: string | Buffer): void {
    if (!this.socket.destroyed && this.socket.writable)
      this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Writes in pieces of `size` bytes with a pause between them, stopping early if the server closed. */
  async trickle(data: string | Buffer, size: number, pauseMs: number): Promise<void> {
    const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    for (let i = 0; i < buf.length && !this.finished; i += size) {
      this.write(buf.subarray(i, i + size));
      await sleep(pauseMs);
    }
  }

  /** Resolves once `pred` holds for what was received; rejects after `ms` (or once the socket closed without it). */
  async waitFor(pred: (text: string) => boolean, ms = REPLY_MS, what = 'the expected bytes'): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this.text)) {
      if (this.#closed) throw new Error(`socket closed before ${what}; received: ${JSON.stringify(this.text.slice(0, 400))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${ms} ms; received: ${JSON.stringify(this.text.slice(0, 400))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits until the server closes its side, then parses everything received. */
  async reply(ms = REPLY_MS): Promise<Reply> {
    try {
      await this.waitFor(() => this.finished, ms, 'close by the server');
    } finally {
      if (!this.finished) this.socket.destroy();
    }
    return parseReply(this.text, this.#serverClosed, this.#error);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** One request's bytes in one write; the whole answer once the server closes. */
async function exchange(data: string | Buffer, port = signPort): Promise<Reply> {
  const c = await RawClient.connect(port);
  c.write(data);
  return c.reply();
}

function httpHead(requestLine: string, headers: string[]): string {
  return [requestLine, ...headers].join(CRLF) + CRLF + CRLF;
}

/** The head libcurl (lmp-device-register) sends for a JSON body, with extra header lines. */
function signHead(json: string, extra: string[] = [], requestLine = 'POST /sign HTTP/1.1'): string {
  return httpHead(requestLine, [
    `Host: 127.0.0.1:${signPort}`,
    'Accept: */*',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(json)}`,
    ...extra,
  ]);
}

/** The whole request as bytes (the JSON in UTF-8). */
function signBytes(json: string, extra: string[] = [], requestLine?: string): Buffer {
  return Buffer.concat([Buffer.from(signHead(json, extra, requestLine), 'latin1'), Buffer.from(json, 'utf8')]);
}

/** What every answer of the listener shares: `connection: close`, a length, and the server closing. */
function assertClosingAnswer(r: Reply, status: number): void {
  assert.equal(r.status, status, `status; received: ${JSON.stringify(r.text.slice(0, 600))}`);
  assert.equal(r.headers.connection, 'close');
  assert.equal(r.headerCount.connection, 1);
  assert.equal(Number(r.headers['content-length']), Buffer.byteLength(r.body), 'content-length is the body length');
  assert.ok(r.serverClosed, 'the server closed the connection after its answer');
  assert.equal(r.finalAnswers, 1, 'exactly one answer');
}

function assertRefusal(r: Reply, status: number, code: string, detail?: string | RegExp): void {
  assertClosingAnswer(r, status);
  assert.equal(r.headers['x-imprint-error'], code);
  assert.match(r.headers['content-type'] ?? '', /^application\/json/);
  const body = JSON.parse(r.body);
  assert.deepEqual(Object.keys(body), ['errors']);
  if (typeof detail === 'string') assert.equal(body.errors.detail, detail);
  else if (detail) assert.match(body.errors.detail, detail);
}

/** A 201 with the four members lmp-device-register writes, for the uuid of the request. */
function assertSigned(r: Reply, uuid: string): void {
  assertClosingAnswer(r, 201);
  const body = JSON.parse(r.body);
  assert.deepEqual(Object.keys(body).sort(), ['client.chained', 'client.pem', 'root.crt', 'sota.toml']);
  const subject = openssl(['x509', '-noout', '-subject', '-nameopt', 'RFC2253'], { input: body['client.pem'] }).stdout;
  assert.match(subject, new RegExp(`CN=${uuid}`));
}

const signEvents = (uuid: string) => trail.query({ step: 'sign', hardwareSerial: uuid });

// ---------------------------------------------------------------------------------------------------------

describe('the sign port registers a device as lmp-device-register drives it', () => {
  test('201 with exactly the four members; openssl verifies client.pem against root.crt; the sign is audited ok', async () => {
    const req = lmpRequest({ factory: FACTORY, sotaDir: '/var/sota', tag: 'main' });
    assert.match(signUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(signUrl, mainUrl);
    const r = await post(signUrl, req.json);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assertSignedFiles(req, r.body, FACTORY, (dir) =>
      assert.match(readText(dir, 'sota.toml'), /\[tls\]\nserver = "https:\/\/gw\.plant\.test:8443"/),
    );
    const events = signEvents(req.uuid);
    assert.equal(events.length, 1);
    assert.equal(events[0].outcome, 'ok');
    assert.equal(events[0].data?.factory, FACTORY);
  });

  test('a second /sign for the same uuid is 409 ALREADY_SIGNED on the sign port, whichever port signed first', async () => {
    const uuid = randomUUID();
    const first = await post(signUrl, lmpRequest({ factory: FACTORY, uuid }).json);
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const again = await post(signUrl, lmpRequest({ factory: FACTORY, uuid }).json);
    assert.equal(again.status, 409);
    assert.equal(again.headers.get('x-imprint-error'), 'ALREADY_SIGNED');
    assert.match(again.body.errors.detail, /imprint pairing sign reopen fio/);
    // Signed on the main port: the sign port knows it too (one core, one registry).
    const other = randomUUID();
    assert.equal((await post(mainUrl, lmpRequest({ factory: FACTORY, uuid: other }).json)).status, 201);
    const onSignPort = await post(signUrl, lmpRequest({ factory: FACTORY, uuid: other }).json);
    assert.equal(onSignPort.status, 409);
    assert.equal(onSignPort.headers.get('x-imprint-error'), 'ALREADY_SIGNED');
  });

  const refusals: Array<[string, () => string, string?]> = [
    ['bad JSON', () => '{"csr": '],
    ['an empty body', () => ''],
    ['a JSON array', () => '[]'],
    [
      'a group field',
      () => {
        const req = lmpRequest({ factory: FACTORY, group: 'prod-fleet' });
        return req.json;
      },
    ],
    ['wrong factory', () => lmpRequest({ factory: 'other-factory' }).json],
    ['not application/json (415)', () => 'csr=x', 'text/plain'],
  ];
  for (const [name, make, contentType] of refusals) {
    test(`${name}: the same status, body and x-imprint-error as the main port`, async () => {
      const text = make();
      const main = await post(mainUrl, text, contentType);
      const lean = await post(signUrl, text, contentType);
      assert.ok(main.status >= 400 && main.status < 500, `main port: ${main.status} ${JSON.stringify(main.body)}`);
      assert.equal(lean.status, main.status, JSON.stringify(lean.body));
      assert.deepEqual(lean.body, main.body);
      assert.equal(lean.headers.get('x-imprint-error'), main.headers.get('x-imprint-error'));
      assert.ok(lean.headers.get('x-imprint-error'), 'an error code is sent');
    });
  }

  test('bad JSON is 400 with "not valid JSON" on the sign port, and it is audited as sign-refused', async () => {
    const before = trail.query({ step: 'sign-refused' }).length;
    const r = await post(signUrl, '{"csr": ');
    assert.equal(r.status, 400);
    assert.match(r.body.errors.detail, /not valid JSON/);
    assert.equal(r.headers.get('x-imprint-error'), 'INVALID_REQUEST');
    assert.equal(trail.query({ step: 'sign-refused' }).length, before + 1);
  });

  test('a body above the limit: 413 on both ports, with the same body and code', async () => {
    const big = `{"pad":"${'x'.repeat(BODY_LIMIT)}"}`;
    const main = await post(mainUrl, big);
    const raw = await exchange(signHead(big)); // the body is not sent: the listener answers from the head
    assert.equal(main.status, 413);
    assertRefusal(raw, 413, main.headers.get('x-imprint-error') ?? '');
    assert.deepEqual(JSON.parse(raw.body), main.body);
  });
});

describe('raw HTTP/1.1 on the sign port', () => {
  test('Expect: 100-continue: "HTTP/1.1 100 Continue" comes before the body is sent, then 201', async () => {
    const req = lmpRequest({ factory: FACTORY });
    const c = await RawClient.connect(signPort);
    c.write(signHead(req.json, ['Expect: 100-continue']));
    await c.waitFor((text) => text.includes(CRLF + CRLF), REPLY_MS, '100 Continue');
    assert.equal(c.text, `HTTP/1.1 100 Continue${CRLF}${CRLF}`, 'only the interim answer, before any body byte was sent');
    c.write(Buffer.from(req.json, 'utf8'));
    const r = await c.reply();
    assert.ok(r.text.startsWith(`HTTP/1.1 100 Continue${CRLF}${CRLF}HTTP/1.1 201 Created${CRLF}`), r.text.slice(0, 80));
    assertSigned(r, req.uuid);
  });

  test('Expect: 100-continue with the body in the same packet: no interim answer, 201', async () => {
    const req = lmpRequest({ factory: FACTORY });
    const r = await exchange(signBytes(req.json, ['Expect: 100-continue']));
    assert.ok(r.text.startsWith('HTTP/1.1 201 '), r.text.slice(0, 80));
    assertSigned(r, req.uuid);
  });

  test('another expectation is 417', async () => {
    const r = await exchange(signBytes('{}', ['Expect: something-else']));
    assertRefusal(r, 417, 'BAD_REQUEST', 'Expectation failed');
  });

  test('the head one byte at a time (CRLF CRLF split across writes) and the body in odd pieces: 201', async () => {
    const req = lmpRequest({ factory: FACTORY });
    const c = await RawClient.connect(signPort);
    const head = signHead(req.json);
    await c.trickle(head.slice(0, -4), 1, 1);
    c.write('\r\n\r');
    await sleep(20);
    c.write('\n');
    await sleep(20);
    await c.trickle(Buffer.from(req.json, 'utf8'), 97, 1);
    const r = await c.reply();
    assertSigned(r, req.uuid);
  });

  test('a request line it cannot parse is 400', async () => {
    for (const line of ['POST /sign HTTP/2.0', 'POST  /sign HTTP/1.1', 'POST /sign', 'POST /si gn HTTP/1.1', 'garbage']) {
      const r = await exchange(signBytes('{}', [], line));
      assertRefusal(r, 400, 'BAD_REQUEST', 'Bad request');
    }
  });

  test('a folded (obs-fold) header line is 400', async () => {
    const json = '{}';
    const head = httpHead('POST /sign HTTP/1.1', [
      'Host: 127.0.0.1',
      'Content-Type: application/json',
      'X-Folded: first',
      ' second',
      `Content-Length: ${json.length}`,
    ]);
    assertRefusal(await exchange(head + json), 400, 'BAD_REQUEST', 'Bad request');
  });

  test('a header with a control character or a space before its colon is 400', async () => {
    assertRefusal(await exchange(signBytes('{}', ['X-Bad: a\x01b'])), 400, 'BAD_REQUEST');
    assertRefusal(await exchange(signBytes('{}', ['X-Bad : a'])), 400, 'BAD_REQUEST');
    assertRefusal(await exchange(signBytes('{}', ['X-Bad: a\nb'])), 400, 'BAD_REQUEST');
  });

  test('two Content-Length headers are 400, even when equal; a non-numeric one is 400', async () => {
    const json = '{}';
    assertRefusal(await exchange(signBytes(json, [`Content-Length: ${json.length}`])), 400, 'BAD_REQUEST');
    const head = (len: string) =>
      httpHead('POST /sign HTTP/1.1', ['Host: 127.0.0.1', 'Content-Type: application/json', `Content-Length: ${len}`]);
    for (const len of ['2, 2', '+2', '-1', '0x2', '']) {
      assertRefusal(await exchange(head(len) + json), 400, 'BAD_REQUEST');
    }
  });

  test('Transfer-Encoding: chunked is 411 (send a length), also together with a Content-Length', async () => {
    const chunked = httpHead('POST /sign HTTP/1.1', [
      'Host: 127.0.0.1',
      'Content-Type: application/json',
      'Transfer-Encoding: chunked',
    ]);
    const r = await exchange(`${chunked}2\r\n{}\r\n0\r\n\r\n`);
    assertRefusal(r, 411, 'BAD_REQUEST', /Content-Length/);
    const both = await exchange(signBytes('{}', ['Transfer-Encoding: chunked']));
    assertRefusal(both, 411, 'BAD_REQUEST');
  });

  test('a POST without Content-Length is 411', async () => {
    const head = httpHead('POST /sign HTTP/1.1', ['Host: 127.0.0.1', 'Content-Type: application/json']);
    assertRefusal(await exchange(`${head}{}`), 411, 'BAD_REQUEST', 'Length required');
  });

  test('Content-Length above the body limit is 413, answered without the body being sent (no 100 Continue)', async () => {
    const head = httpHead('POST /sign HTTP/1.1', [
      'Host: 127.0.0.1',
      'Content-Type: application/json',
      `Content-Length: ${BODY_LIMIT + 1}`,
      'Expect: 100-continue',
    ]);
    const r = await exchange(head);
    assertRefusal(r, 413, 'BAD_REQUEST', 'Request entity too large');
    assert.ok(r.text.startsWith('HTTP/1.1 413 '), 'no interim 100 Continue for a body that will be refused');
  });

  test('Content-Length exactly at the body limit is read (then refused by the service, not by the framing)', async () => {
    const json = `{"pad":"${'x'.repeat(BODY_LIMIT - 10)}"}`;
    assert.equal(Buffer.byteLength(json), BODY_LIMIT);
    const r = await exchange(signBytes(json));
    assertRefusal(r, 400, 'INVALID_REQUEST');
  });

  test('a head over 16 KiB is 431: with its end past the limit, or still unfinished past it', async () => {
    const pad = `X-Pad: ${'a'.repeat(MAX_HEAD_BYTES)}`;
    assertRefusal(await exchange(signBytes('{}', [pad])), 431, 'BAD_REQUEST', 'Request header fields too large');
    // No end of head at all: refused once more than 16 KiB arrived, not left waiting.
    const c = await RawClient.connect(signPort);
    c.write(`POST /sign HTTP/1.1${CRLF}${pad}a`);
    assertRefusal(await c.reply(), 431, 'BAD_REQUEST');
  });

  test('a head of exactly 16 KiB is accepted when sent in one piece', async () => {
    const req = lmpRequest({ factory: FACTORY });
    const bytes = paddedTo16KiB(req.json);
    const r = await exchange(bytes);
    assertSigned(r, req.uuid);
  });

  // The same request gets the same answer however it was segmented: a head of exactly MAX_HEAD_BYTES whose
  // CRLF CRLF is split (the 431 check once counted the terminator's first bytes as head).
  test('a head of exactly 16 KiB whose final "\\n" arrives late is accepted as well', async () => {
    const req = lmpRequest({ factory: FACTORY });
    const bytes = paddedTo16KiB(req.json);
    const headEnd = MAX_HEAD_BYTES + 4;
    const c = await RawClient.connect(signPort);
    c.write(bytes.subarray(0, headEnd - 1)); // the head and "\r\n\r", not the last "\n"
    await sleep(200);
    c.write(bytes.subarray(headEnd - 1));
    const r = await c.reply();
    assertSigned(r, req.uuid);
  });

  test('a content type other than application/json is 415; its parameters and case do not matter', async () => {
    const json = '{}';
    const head = (type: string) =>
      httpHead('POST /sign HTTP/1.1', ['Host: 127.0.0.1', `Content-Type: ${type}`, `Content-Length: ${json.length}`]);
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx']) {
      assertRefusal(await exchange(head(type) + json), 415, 'BAD_REQUEST', 'Unsupported media type');
    }
    const noType = httpHead('POST /sign HTTP/1.1', ['Host: 127.0.0.1', `Content-Length: ${json.length}`]);
    assertRefusal(await exchange(noType + json), 415, 'BAD_REQUEST');
    const req = lmpRequest({ factory: FACTORY });
    const ok = httpHead('POST /sign HTTP/1.1', [
      'Host: 127.0.0.1',
      'Content-Type: Application/JSON; charset=UTF-8',
      `Content-Length: ${Buffer.byteLength(req.json)}`,
    ]);
    assertSigned(await exchange(ok + req.json), req.uuid);
  });

  test('GET, PUT, DELETE /sign are 405 with allow: POST, HEAD', async () => {
    for (const method of ['GET', 'PUT', 'DELETE', 'OPTIONS']) {
      const r = await exchange(httpHead(`${method} /sign HTTP/1.1`, ['Host: 127.0.0.1']));
      assertRefusal(r, 405, 'BAD_REQUEST', 'Method not allowed');
      assert.equal(r.headers.allow, 'POST, HEAD');
    }
  });

  test('/other, /SIGN, /sign/x and / are 404 {"errors":{"detail":"Page not found"}}', async () => {
    for (const target of ['/other', '/SIGN', '/sign/x', '/', '/signs', '//sign']) {
      const req = lmpRequest({ factory: FACTORY });
      const r = await exchange(signBytes(req.json, [], `POST ${target} HTTP/1.1`));
      assertRefusal(r, 404, 'NOT_FOUND');
      assert.equal(r.body, '{"errors":{"detail":"Page not found"}}');
      assert.equal(signEvents(req.uuid).length, 0, `${target} signed nothing`);
    }
    const get = await exchange(httpHead('GET /metrics HTTP/1.1', ['Host: 127.0.0.1']));
    assertRefusal(get, 404, 'NOT_FOUND');
  });

  test('/sign?x=1 and /sign/ are served as /sign; HTTP/1.0 too', async () => {
    for (const line of ['POST /sign?x=1 HTTP/1.1', 'POST /sign/ HTTP/1.1', 'POST /sign/?a=b&c HTTP/1.1', 'POST /sign HTTP/1.0']) {
      const req = lmpRequest({ factory: FACTORY });
      const r = await exchange(signBytes(req.json, [], line));
      assertSigned(r, req.uuid);
      assert.equal(signEvents(req.uuid)[0]?.outcome, 'ok', line);
    }
  });

  test('HEAD /sign (the reachability check) is 204 with no body', async () => {
    for (const target of ['/sign', '/sign/', '/sign?probe=1']) {
      const r = await exchange(httpHead(`HEAD ${target} HTTP/1.1`, ['Host: 127.0.0.1', 'User-Agent: curl/8.5.0']));
      assertClosingAnswer(r, 204);
      assert.equal(r.body, '');
      assert.equal(r.headers['content-length'], '0');
      assert.equal(r.headers['x-imprint-error'], undefined);
      assert.ok(r.text.endsWith(CRLF + CRLF), 'nothing after the head');
    }
    const other = await exchange(httpHead('HEAD /other HTTP/1.1', ['Host: 127.0.0.1']));
    assert.equal(other.status, 404);
    assert.equal(other.body, '', 'a HEAD answer has no body');
  });

  test('a pipelined second request gets no answer: one status line, then the server closes; it is not signed', async () => {
    const first = lmpRequest({ factory: FACTORY });
    const second = lmpRequest({ factory: FACTORY });
    const r = await exchange(Buffer.concat([signBytes(first.json), signBytes(second.json)]));
    assertSigned(r, first.uuid);
    assert.equal((r.text.match(/HTTP\/1\.1 /g) ?? []).length, 1, 'exactly one status line');
    assert.equal(signEvents(second.uuid).length, 0, 'the pipelined request was never read');
    // The second request in a write of its own, after the whole first one: still one answer.
    const third = lmpRequest({ factory: FACTORY });
    const c = await RawClient.connect(signPort);
    c.write(signBytes(third.json));
    c.write(httpHead('HEAD /sign HTTP/1.1', ['Host: 127.0.0.1']));
    const r2 = await c.reply();
    assertSigned(r2, third.uuid);
  });

  test('a client that closes its sending side after its request (shutdown) still gets its answer', async () => {
    const req = lmpRequest({ factory: FACTORY });
    const c = await RawClient.connect(signPort, { allowHalfOpen: true });
    c.write(signBytes(req.json));
    c.socket.end();
    assertSigned(await c.reply(), req.uuid);
  });

  test('a client that keeps its side open still sees the server close after the answer', async () => {
    const c = await RawClient.connect(signPort, { allowHalfOpen: true });
    c.write(httpHead('GET /sign HTTP/1.1', ['Host: 127.0.0.1']));
    const r = await c.reply();
    assertRefusal(r, 405, 'BAD_REQUEST');
    c.destroy();
  });
});

describe('robustness', () => {
  test('clients that vanish mid-head, mid-body (FIN or RST) or before the answer do not stop the listener', async () => {
    const req = lmpRequest({ factory: FACTORY });
    const bytes = signBytes(req.json);
    const headLen = Buffer.byteLength(signHead(req.json));
    // Mid-head, closed.
    let c = await RawClient.connect(signPort);
    c.write(bytes.subarray(0, 20));
    await sleep(50);
    c.destroy();
    // Mid-body, closed.
    c = await RawClient.connect(signPort);
    c.write(bytes.subarray(0, headLen + 100));
    await sleep(50);
    c.destroy();
    // Mid-body, reset.
    c = await RawClient.connect(signPort);
    c.write(bytes.subarray(0, headLen + 200));
    await sleep(50);
    c.socket.resetAndDestroy();
    // Mid-body with Expect, after the 100 Continue, reset.
    c = await RawClient.connect(signPort);
    c.write(signHead(req.json, ['Expect: 100-continue']));
    await c.waitFor((text) => text.includes('100 Continue'));
    c.write(Buffer.from(req.json).subarray(0, 10));
    c.socket.resetAndDestroy();
    await sleep(100);
    assert.equal(signEvents(req.uuid).length, 0, 'no partial request was signed');
    // The whole request, then a reset before the answer: signed (the service ran), the answer dropped quietly.
    const gone = lmpRequest({ factory: FACTORY });
    c = await RawClient.connect(signPort);
    c.write(signBytes(gone.json));
    await sleep(5);
    c.socket.resetAndDestroy();
    for (let i = 0; i < 150 && signEvents(gone.uuid).length === 0; i++) await sleep(100);
    // The next full request is served.
    const next = lmpRequest({ factory: FACTORY });
    assertSigned(await exchange(signBytes(next.json)), next.uuid);
    // And the original request, sent whole, too.
    assertSigned(await exchange(bytes), req.uuid);
  });

  test('many concurrent connections, each one request: every one answered once', async () => {
    const reqs = Array.from({ length: 12 }, () => lmpRequest({ factory: FACTORY }));
    const replies = await Promise.all(reqs.map((q) => exchange(signBytes(q.json))));
    replies.forEach((r, i) => {
      assertSigned(r, reqs[i].uuid);
    });
  });
});

// ---------------------------------------------------------------------------------------------------------

/** The sign request with an X-Pad header making its head (without CRLF CRLF) exactly MAX_HEAD_BYTES long. */
function paddedTo16KiB(json: string): Buffer {
  const base = signHead(json, ['X-Pad: ']);
  const padLen = MAX_HEAD_BYTES - (Buffer.byteLength(base) - 4);
  const bytes = signBytes(json, [`X-Pad: ${'p'.repeat(padLen)}`]);
  assert.equal(bytes.indexOf(CRLF + CRLF), MAX_HEAD_BYTES);
  return bytes;
}

describe('request timeout (listenSign with requestTimeoutMs: 300)', () => {
  let lean: RunningSignListener;
  let port: number;
  let metrics: PairingMetrics;

  before(async () => {
    metrics = new PairingMetrics();
    lean = await listenSign({
      sign,
      metrics,
      logger: silentLogger,
      bodyLimit: BODY_LIMIT,
      requestTimeoutMs: 300,
      host: '127.0.0.1',
      port: 0,
    });
    port = Number(new URL(lean.url).port);
    cleanups.push(() => lean.close());
  });

  test('a partial head is 408, then the server closes', async () => {
    const c = await RawClient.connect(port);
    c.write(`POST /sign HTTP/1.1${CRLF}Host: 127.0.0.1${CRLF}Content-Type: appl`);
    assertRefusal(await c.reply(), 408, 'BAD_REQUEST', 'Request timeout');
  });

  test('a whole head and a partial body is 408; nothing is signed', async () => {
    const req = lmpRequest({ factory: FACTORY });
    const bytes = signBytes(req.json);
    const c = await RawClient.connect(port);
    c.write(bytes.subarray(0, bytes.length - 5));
    assertRefusal(await c.reply(), 408, 'BAD_REQUEST');
    assert.equal(signEvents(req.uuid).length, 0);
    assert.match(metrics.render(), /imprint_pairing_http_requests_total\{method="POST",route="[^"]*",status="408"\} 1/);
  });

  test('a connection that sends nothing is 408 and closed', async () => {
    const c = await RawClient.connect(port);
    assertRefusal(await c.reply(), 408, 'BAD_REQUEST');
  });

  test('a request sent in time is served (the timer does not fire during signing)', async () => {
    const req = lmpRequest({ factory: FACTORY });
    assertSigned(await exchange(signBytes(req.json), port), req.uuid);
  });

  // The deadline is for the whole request, not an idle timer re-armed by every byte: a client dripping one byte
  // every 100 ms (under the 300 ms) is still cut (a slowloris). The drip stops after 6 s, or once answered.
  test('a request dripped slower than the deadline allows is 408 (the deadline is for the whole request)', async () => {
    const c = await RawClient.connect(port);
    c.write(`POST /sign HTTP/1.1${CRLF}Host: 127.0.0.1${CRLF}X-Slow: `);
    await c.trickle('s'.repeat(60), 1, 100);
    assert.ok(c.finished, 'the server answered (and closed) within 6 s although a byte came every 100 ms');
    assertRefusal(await c.reply(), 408, 'BAD_REQUEST');
  });
});

describe('listenSign with a stub service: faults, shutdown', () => {
  const REPLY: SignReply = { 'root.crt': 'R', 'sota.toml': 'T', 'client.pem': 'P', 'client.chained': 'PC' };
  let next: (text: string) => Promise<SignReply>;
  const calls: string[] = [];
  const stub: SignApi = {
    signText: (text: string) => {
      calls.push(text);
      return next(text);
    },
  };
  const start = () =>
    listenSign({ sign: stub, metrics: new PairingMetrics(), logger: silentLogger, bodyLimit: 1024, host: '127.0.0.1', port: 0 });
  let lean: RunningSignListener;
  let port: number;

  before(async () => {
    lean = await start();
    port = Number(new URL(lean.url).port);
    cleanups.push(() => lean.close());
  });

  test('the body reaches the service as UTF-8 text, exactly Content-Length bytes of it', async () => {
    next = async () => REPLY;
    const json = '{"name":"caf\u00e9 \u2713"}';
    calls.length = 0;
    const r = await exchange(Buffer.concat([signBytes(json), Buffer.from('TRAILING')]), port);
    assertClosingAnswer(r, 201);
    assert.deepEqual(JSON.parse(r.body), REPLY);
    assert.deepEqual(calls, [json]);
  });

  test('a fault of the core is 500 INTERNAL without details; a database away is 503 with retry-after', async () => {
    next = async () => {
      throw new Error('secret internals: /var/lib/ca.key');
    };
    const r = await exchange(signBytes('{}'), port);
    assertRefusal(r, 500, 'INTERNAL', 'Internal server error');
    assert.doesNotMatch(r.text, /secret internals/);
    next = async () => {
      throw new DbError('DB_UNAVAILABLE');
    };
    const u = await exchange(signBytes('{}'), port);
    assertRefusal(u, 503, 'DB_UNAVAILABLE', 'Service unavailable');
    assert.equal(u.headers['retry-after'], '1');
    next = async () => {
      throw new PairingError('WRONG_FACTORY', { message: 'Invalid factory (x)' });
    };
    assertRefusal(await exchange(signBytes('{}'), port), 403, 'WRONG_FACTORY', 'Invalid factory (x)');
  });

  test('close(): a connection still sending is cut, one being signed gets its answer first, then close resolves', async () => {
    const own = await start();
    const ownPort = Number(new URL(own.url).port);
    let release: (r: SignReply) => void = () => {};
    next = () => new Promise<SignReply>((resolve) => (release = resolve));
    const sending = await RawClient.connect(ownPort);
    sending.write(`POST /sign HTTP/1.1${CRLF}Host: x${CRLF}`);
    const signing = await RawClient.connect(ownPort);
    calls.length = 0;
    signing.write(signBytes('{"a":1}'));
    for (let i = 0; i < 100 && calls.length === 0; i++) await sleep(20);
    assert.equal(calls.length, 1, 'the second request reached the service');
    let closed = false;
    const closing = own.close().then(() => {
      closed = true;
    });
    const cut = await sending.reply();
    assert.equal(cut.status, 0, 'no answer to a request still being sent at shutdown');
    await sleep(50);
    assert.equal(closed, false, 'close waits for the answer being prepared');
    release(REPLY);
    assertClosingAnswer(await signing.reply(), 201);
    await Promise.race([closing, sleep(REPLY_MS).then(() => assert.fail('close() did not resolve'))]);
  });

  test('close() does not wait for a client that keeps its side open after its answer', async () => {
    const own = await start();
    next = async () => REPLY;
    const c = await RawClient.connect(Number(new URL(own.url).port), { allowHalfOpen: true });
    c.write(signBytes('{}'));
    assertClosingAnswer(await c.reply(), 201);
    // The client neither reads nor closes any more; the server's side must already be gone.
    await Promise.race([own.close(), sleep(REPLY_MS).then(() => assert.fail('close() waited for the client'))]);
    c.destroy();
  });
});

describe('metrics: the sign port counts into the main port’s /metrics', () => {
  const scrape = async () => {
    const r = await fetch(`${mainUrl}/metrics`, { signal: AbortSignal.timeout(REPLY_MS) });
    assert.equal(r.status, 200);
    return r.text();
  };
  const value = (text: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? 0 : Number(line.slice(series.length + 1));
  };

  test('signs counter, requests by route /sign and status, latency observations', async () => {
    const before = await scrape();
    const reqs = [lmpRequest({ factory: FACTORY }), lmpRequest({ factory: FACTORY })];
    for (const q of reqs) assertSigned(await exchange(signBytes(q.json)), q.uuid);
    assert.equal((await exchange(signBytes('{"csr": '))).status, 400);
    assert.equal((await exchange(httpHead('GET /sign HTTP/1.1', ['Host: x']))).status, 405);
    assert.equal((await exchange(httpHead('HEAD /sign HTTP/1.1', ['Host: x']))).status, 204);
    assert.equal((await exchange(httpHead('GET /nope HTTP/1.1', ['Host: x']))).status, 404);
    const after = await scrape();
    const delta = (series: string) => value(after, series) - value(before, series);
    assert.equal(delta('imprint_pairing_signs_total'), 2);
    assert.equal(delta('imprint_pairing_http_requests_total{method="POST",route="/sign",status="201"}'), 2);
    assert.equal(delta('imprint_pairing_http_requests_total{method="POST",route="/sign",status="400"}'), 1);
    assert.equal(delta('imprint_pairing_http_requests_total{method="GET",route="/sign",status="405"}'), 1);
    assert.equal(delta('imprint_pairing_http_requests_total{method="HEAD",route="/sign",status="204"}'), 1);
    assert.equal(delta('imprint_pairing_http_requests_total{method="GET",route="unmatched",status="404"}'), 1);
    assert.equal(delta('imprint_pairing_http_request_duration_seconds_count{method="POST",route="/sign"}'), 3);
    assert.ok(delta('imprint_pairing_http_request_duration_seconds_sum{method="POST",route="/sign"}') > 0);
  });
});

describe('TLS', () => {
  let tlsServer: RunningPairingServer;
  let cert: string;
  let key: string;

  before(async () => {
    const { dir, cleanup } = tempDir('imprint-sign-tls-');
    cleanups.push(cleanup);
    const files = selfSignedTls(dir);
    cert = readFileSync(files.cert, 'utf8');
    key = readFileSync(files.key, 'utf8');
    tlsServer = await servePairing({ core: t.core, claims, sign, host: '127.0.0.1', port: 0, signPort: 0, tls: { cert, key } });
    cleanups.push(() => tlsServer.close());
  });

  const httpsPost = (url: string, json: string) =>
    new Promise<{ status: number; body: Json; headers: Record<string, unknown> }>((resolve, reject) => {
      const req = httpsRequest(
        url,
        {
          method: 'POST',
          ca: cert,
          agent: false,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) },
          timeout: REPLY_MS,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => {
            text += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), headers: res.headers }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(json);
    });

  test('the sign port serves HTTPS with the main port’s certificate: 201 that openssl verifies', async () => {
    assert.match(tlsServer.signUrl ?? '', /^https:\/\/127\.0\.0\.1:\d+$/);
    const req = lmpRequest({ factory: FACTORY });
    const r = await httpsPost(`${tlsServer.signUrl}/sign`, req.json);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.headers.connection, 'close');
    const { dir, cleanup } = tempDir('imprint-sota-');
    try {
      writeSotaDir(dir, req.pkeyPem, r.body);
      const v = openssl(['verify', '-CAfile', 'root.crt', 'client.pem'], { cwd: dir });
      assert.equal(v.status, 0, v.stderr);
    } finally {
      cleanup();
    }
    assert.equal(signEvents(req.uuid)[0]?.outcome, 'ok');
  });

  test('plain HTTP on the TLS sign port gets no HTTP answer and does not disturb it', async () => {
    const c = await RawClient.connect(Number(new URL(tlsServer.signUrl ?? '').port));
    c.write(httpHead('HEAD /sign HTTP/1.1', ['Host: x']));
    const r = await c.reply();
    assert.doesNotMatch(r.text, /^HTTP\/1\.1 204/);
    const req = lmpRequest({ factory: FACTORY });
    assert.equal((await httpsPost(`${tlsServer.signUrl}/sign`, req.json)).status, 201);
  });

  test('a connection stuck in its TLS handshake, or closed during it, is cut by the deadline and at shutdown', {
    timeout: 60_000,
  }, async () => {
    const listen = (requestTimeoutMs: number) =>
      listenSign({
        sign: { signText: async () => assert.fail('nothing is signed') },
        metrics: new PairingMetrics(),
        logger: silentLogger,
        bodyLimit: 1024,
        tls: { cert, key },
        host: '127.0.0.1',
        port: 0,
        requestTimeoutMs,
      });
    const short = await listen(300);
    try {
      const port = Number(new URL(short.url).port);
      // Connected, never a ClientHello; and one that closes its side instead: both closed by the server.
      const silent = await RawClient.connect(port, { allowHalfOpen: true });
      const half = await RawClient.connect(port, { allowHalfOpen: true });
      half.socket.end();
      for (const c of [silent, half]) assert.equal((await c.reply()).text, '', 'closed without an answer');
    } finally {
      await Promise.race([short.close(), sleep(REPLY_MS)]);
    }
    // With a long deadline, shutdown itself cuts a connection still in its handshake.
    const long = await listen(60_000);
    const stuck = await RawClient.connect(Number(new URL(long.url).port), { allowHalfOpen: true });
    await Promise.race([long.close(), sleep(REPLY_MS).then(() => assert.fail('close() waited for the handshake'))]);
    assert.equal((await stuck.reply()).text, '');
  });
});

describe('CLI: imprint pairing serve --sign-port', () => {
  const ROOT = fileURLToPath(new URL('../../', import.meta.url));
  const BIN = join(ROOT, 'bin/imprint.mjs');
  const env = { ...process.env, IMPRINT_LOG_LEVEL: 'warn' };
  let child: ChildProcess | undefined;

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((done) => child?.once('exit', done));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  });

  test('--sign-port without --sign-realm exits non-zero and says why', () => {
    const { dir, cleanup } = tempDir('imprint-sign-cli-');
    try {
      const r = spawnSync(
        process.execPath,
        [BIN, 'pairing', 'serve', '--data', join(dir, 'data'), '--port', '0', '--sign-port', '0'],
        {
          cwd: ROOT,
          env,
          encoding: 'utf8',
          timeout: 30_000,
        },
      );
      assert.notEqual(r.status, 0, `exit ${r.status} (signal ${r.signal})`);
      assert.notEqual(r.status, null, 'it exited by itself instead of serving');
      assert.match(r.stderr, /--sign-port serves POST \/sign: it needs --sign-realm/);
    } finally {
      cleanup();
    }
  });

  test('--sign-realm with --sign-port 0 prints the sign URL, which answers HEAD 204 and POST 201', async () => {
    const { dir, cleanup } = tempDir('imprint-sign-cli-');
    cleanups.push(cleanup);
    const data = join(dir, 'data');
    writeFileSync(join(dir, 'realm.pem'), makeAgentKeyPair().publicKeyPem);
    const created = spawnSync(
      process.execPath,
      [BIN, 'pairing', 'realm', 'create', 'plant', '--public-key', join(dir, 'realm.pem'), '--factory', 'acme', '--data', data],
      { cwd: ROOT, env, encoding: 'utf8', timeout: 30_000 },
    );
    assert.equal(created.status, 0, created.stderr);
    child = spawn(
      process.execPath,
      [BIN, 'pairing', 'serve', '--data', data, '--port', '0', '--sign-realm', 'plant', '--sign-port', '0'],
      {
        cwd: ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const proc = child;
    const urls = await new Promise<{ main: string; sign: string }>((resolve, reject) => {
      let out = '';
      let err = '';
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${out} ${err}`)), 30_000);
      proc.stdout?.on('data', (d) => {
        out += d;
        const main = /Pairing API listening on (http:\/\/\S+)/.exec(out);
        const signed = /Foundries \/sign listening on (http:\/\/\S+)\/sign/.exec(out);
        if (main && signed) {
          clearTimeout(timer);
          resolve({ main: main[1], sign: signed[1] });
        }
      });
      proc.stderr?.on('data', (d) => {
        err += d;
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`serve exited (${code}): ${err}`));
      });
    });
    assert.notEqual(urls.sign, urls.main);
    const port = Number(new URL(urls.sign).port);
    assert.ok(port > 0);
    const head = await exchange(httpHead('HEAD /sign HTTP/1.1', ['Host: x']), port);
    assertClosingAnswer(head, 204);
    const req = lmpRequest({ factory: 'acme' });
    const r = await exchange(signBytes(req.json), port);
    assertClosingAnswer(r, 201);
    assert.deepEqual(Object.keys(JSON.parse(r.body)).sort(), ['client.chained', 'client.pem', 'root.crt', 'sota.toml']);
  });
});
