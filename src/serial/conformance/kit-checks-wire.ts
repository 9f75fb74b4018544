// The kit's read-only checks: HELLO, IDENTITY, STATUS, unknown commands, framing, CRC,
// percent-encoding, the length limit and the reply cache. None of them writes the device's storage.
import { crcHex } from '../crc16.ts';
import {
  CAPS_PATTERN,
  configValueProblem,
  DIGEST_PATTERN,
  FIRMWARE_PATTERN,
  GTIN_PATTERN,
  MAC_PATTERN,
  MIN_DEVICE_MAX_BYTES,
  MODEL_PATTERN,
  REQUIRED_CAPABILITIES,
  SERIAL_PATTERN,
} from '../device-protocol.ts';
import { seqHex } from '../frame-codec.ts';
import { expectErr, expectOk, firstFailure, type KitContext, said, type Verdict } from './kit-context.ts';
import { rawRequest } from './kit-link.ts';
import type { RuleId } from './kit-rules.ts';

export interface Check {
  id: RuleId;
  run(k: KitContext): Promise<Verdict>;
}

const hex = (seq: number) => seqHex(seq);

/** A request of exactly `bytes` bytes (LF, and CR when `crlf`, included), padded with an unknown key. */
function paddedStatus(seq: number, bytes: number, crlf = false): string {
  const bare = rawRequest(hex(seq), 'STATUS', 'pad=').length + 1 + (crlf ? 1 : 0);
  return rawRequest(hex(seq), 'STATUS', `pad=${'x'.repeat(Math.max(0, bytes - bare))}`);
}

export const WIRE_CHECKS: Check[] = [
  {
    id: 'H-REPLY',
    async run(k) {
      const x = await k.request('HELLO', { v: '1' });
      if (x.reply?.verb === 'OK') k.hello = x.reply.args;
      const bad = expectOk(x, { v: '1', model: MODEL_PATTERN, fw: FIRMWARE_PATTERN, caps: CAPS_PATTERN, max: /^[1-9][0-9]*$/ });
      if (bad) return bad;
      if (k.hello.minor !== undefined && !/^(0|[1-9][0-9]*)$/.test(k.hello.minor)) return `minor=${k.hello.minor} is not decimal`;
      if (k.max < MIN_DEVICE_MAX_BYTES || k.max > 512) return `max=${k.max} is outside 128..512`;
      const missing = REQUIRED_CAPABILITIES.filter((c) => !k.caps.includes(c));
      if (missing.length > 0) return `caps lacks ${missing.join(', ')}: the station refuses such a device`;
      return undefined;
    },
  },
  { id: 'H-NO-V', run: async (k) => expectOk(await k.request('HELLO'), { v: '1' }) },
  {
    id: 'H-CHOOSE',
    run: async (k) =>
      firstFailure(
        ['HELLO v=1,2', expectOk(await k.request('HELLO', { v: '1,2' }), { v: '1' })],
        ['HELLO v=2,1', expectOk(await k.request('HELLO', { v: '2,1' }), { v: '1' })],
      ),
  },
  {
    id: 'H-UNSUPPORTED',
    run: async (k) =>
      firstFailure(
        ['HELLO v=2', expectErr(await k.request('HELLO', { v: '2' }), 'UNSUPPORTED_VERSION')],
        ['HELLO v=0', expectErr(await k.request('HELLO', { v: '0' }), 'UNSUPPORTED_VERSION')],
      ),
  },
  {
    id: 'H-BAD-V',
    async run(k) {
      const verdicts: [string, string | undefined][] = [];
      for (const v of ['x', '', '1,,2', '1.1'])
        verdicts.push([`HELLO v=${v}`, expectErr(await k.request('HELLO', { v }), 'BAD_ARGUMENT')]);
      // Leave a normal session behind.
      verdicts.push(['HELLO v=1', expectOk(await k.request('HELLO', { v: '1' }))]);
      return firstFailure(...verdicts);
    },
  },
  {
    id: 'I-REPLY',
    async run(k) {
      const [a, b] = [await k.request('IDENTITY'), await k.request('IDENTITY')];
      const bad = expectOk(a, { serial: SERIAL_PATTERN });
      if (bad) return bad;
      const id = a.reply!.args;
      if (id.mac !== undefined && !MAC_PATTERN.test(id.mac)) return `mac=${id.mac} is not like A4:CF:12:0B:9E:01`;
      if (id.gtin !== undefined && !GTIN_PATTERN.test(id.gtin)) return `gtin=${id.gtin} is not 14 digits`;
      if (id.device_id !== undefined && configValueProblem('device_id', id.device_id))
        return `device_id=${id.device_id} is not canonical`;
      if (said(a) !== said(b)) return `two IDENTITY replies differ: ${said(a)} / ${said(b)}`;
      k.state.identity = said(a);
      return undefined;
    },
  },
  {
    id: 'S-REPLY',
    async run(k) {
      const x = await k.request('STATUS');
      const bad = expectOk(x, { state: /^(empty|written|locked|torn)$/ });
      if (bad) return bad;
      const { state, digest } = x.reply!.args;
      const wantsDigest = state === 'written' || state === 'locked';
      if (wantsDigest !== (digest !== undefined)) return `state=${state} ${digest ? 'with' : 'without'} a digest`;
      if (digest !== undefined && !DIGEST_PATTERN.test(digest)) return `digest=${digest} is not 64 lowercase hex digits`;
      k.state.status = said(x);
      return undefined;
    },
  },
  {
    id: 'K-UNKNOWN',
    run: async (k) =>
      firstFailure(
        ['FLASH', expectErr(await k.request('FLASH'), 'UNKNOWN_COMMAND')],
        ['STATUS_ALL', expectErr(await k.request('STATUS_ALL'), 'UNKNOWN_COMMAND')],
      ),
  },
  {
    id: 'F-UNKNOWN-KEY',
    async run(k) {
      const status = await k.request('STATUS', { future_key: 'x' });
      const identity = await k.request('IDENTITY', { x_1: '' });
      return firstFailure(
        ['STATUS future_key=x', said(status) === k.state.status ? undefined : `got ${said(status)}, not ${k.state.status}`],
        ['IDENTITY x_1=', said(identity) === k.state.identity ? undefined : `got ${said(identity)}, not ${k.state.identity}`],
      );
    },
  },
  {
    id: 'F-PERCENT',
    async run(k) {
      const verdicts: [string, string | undefined][] = [];
      for (const v of ['%31', '1%2c2', '1%2C2']) {
        const seq = k.link.nextSeq();
        verdicts.push([`HELLO v=${v}`, expectOk(await k.raw(rawRequest(hex(seq), 'HELLO', `v=${v}`), seq), { v: '1' })]);
      }
      return firstFailure(...verdicts);
    },
  },
  {
    id: 'F-VALUES',
    async run(k) {
      const verdicts: [string, string | undefined][] = [];
      for (const v of ['%zz', '%4', '%FF', '%C3%28', '%00', 'caf\xe9']) {
        const seq = k.link.nextSeq();
        verdicts.push([`STATUS x=${v}`, expectErr(await k.raw(rawRequest(hex(seq), 'STATUS', `x=${v}`), seq), 'BAD_FRAME')]);
      }
      const seq = k.link.nextSeq();
      verdicts.push(['STATUS x=%C3%A9 (valid UTF-8)', expectOk(await k.raw(rawRequest(hex(seq), 'STATUS', 'x=%C3%A9'), seq))]);
      return firstFailure(...verdicts);
    },
  },
  {
    id: 'F-CRLF',
    async run(k) {
      const seq = k.link.nextSeq();
      return expectOk(await k.raw(rawRequest(hex(seq), 'STATUS'), seq, '\r\n'), { state: /./ });
    },
  },
  {
    id: 'F-NOISE',
    async run(k) {
      k.link.send('boot: imprint device-test console noise');
      const seq = hex(k.link.nextSeq());
      k.link.send(withCrc(`<${seq} OK state=empty`)); // a reply, as another device on the bus would send
      k.link.send(`<${seq} ERR code=BAD_CRC *0000`); // and a damaged one
      k.link.send('');
      k.link.send('  ');
      const replies = await k.repliesBeforeSync();
      if (typeof replies === 'string') return replies;
      return replies.length === 0 ? undefined : `answered a line that is not a request: ${replies[0].line}`;
    },
  },
  {
    id: 'F-CRC',
    async run(k) {
      const seq = k.link.nextSeq();
      return expectErr(await k.raw(breakCrc(rawRequest(hex(seq), 'STATUS')), seq), 'BAD_CRC');
    },
  },
  {
    id: 'F-MALFORMED',
    async run(k) {
      const cases: [string, (s: string) => string][] = [
        ['no checksum', (s) => `>${s} STATUS`],
        ['checksum of 3 digits', (s) => `>${s} STATUS *${crcHex(`>${s} STATUS`).slice(1)}`],
        ['lower-case checksum', (s) => lowerCrc(s)],
        ['no space after the sequence number', (s) => withCrc(`>${s}STATUS`)],
        ['lower-case verb', (s) => withCrc(`>${s} status`)],
        ['a token without =', (s) => withCrc(`>${s} STATUS novalue`)],
        ['a repeated key', (s) => withCrc(`>${s} STATUS a=1 a=2`)],
        ['two spaces', (s) => withCrc(`>${s} STATUS  a=1`)],
        ['an upper-case key', (s) => withCrc(`>${s} STATUS Key=1`)],
      ];
      const verdicts: [string, string | undefined][] = [];
      for (const [what, make] of cases) {
        const seq = k.link.nextSeq();
        verdicts.push([what, expectErr(await k.raw(make(hex(seq)), seq), 'BAD_FRAME')]);
      }
      return firstFailure(...verdicts);
    },
  },
  {
    id: 'F-UNREADABLE',
    async run(k) {
      const seq = k.link.nextSeq();
      k.link.send(
        rawRequest(
          hex(seq)
            .toLowerCase()
            .replace(/^[0-9]/, 'a'),
          'STATUS',
        ),
      );
      k.link.send(rawRequest('0000', 'STATUS'));
      k.link.send(rawRequest('12', 'STATUS'));
      const replies = await k.repliesBeforeSync();
      if (typeof replies === 'string') return replies;
      return replies.length === 0 ? undefined : `answered a request whose sequence number is unreadable: ${replies[0].line}`;
    },
  },
  {
    id: 'F-MAX',
    async run(k) {
      const a = k.link.nextSeq();
      const lf = await k.raw(paddedStatus(a, k.max), a);
      const b = k.link.nextSeq();
      const crlf = await k.raw(paddedStatus(b, k.max, true), b, '\r\n');
      return firstFailure(
        [`a ${k.max}-byte request`, expectOk(lf, { state: /./ })],
        [`a ${k.max}-byte request ending in CR LF`, expectOk(crlf, { state: /./ })],
      );
    },
  },
  {
    id: 'F-TOO-LONG',
    async run(k) {
      k.link.send(paddedStatus(k.link.nextSeq(), k.max + 1));
      k.link.send(paddedStatus(k.link.nextSeq(), k.max + 1, true), '\r\n');
      const replies = await k.repliesBeforeSync();
      if (typeof replies === 'string') return replies;
      return replies.length === 0 ? undefined : `answered a line of ${k.max + 1} bytes: ${replies[0].line}`;
    },
  },
  {
    id: 'C-RETRANSMIT',
    async run(k) {
      const first = await k.request('IDENTITY');
      const again = await k.raw(first.request, first.seq);
      if (!first.replyLine) return `IDENTITY: ${said(first)}`;
      return again.replyLine === first.replyLine ? undefined : `the retransmission got ${again.replyLine ?? 'no reply'}`;
    },
  },
  {
    id: 'C-NEW-LINE',
    async run(k) {
      const status = await k.request('STATUS');
      const identity = await k.raw(rawRequest(hex(status.seq), 'IDENTITY'), status.seq);
      return firstFailure(
        ['STATUS', expectOk(status, { state: /./ })],
        ['IDENTITY with the same sequence number', expectOk(identity, { serial: /./ })],
      );
    },
  },
  {
    id: 'C-ERRORS',
    async run(k) {
      // A damaged request, then a good one with its sequence number: executed, not BAD_CRC again.
      const a = k.link.nextSeq();
      const damaged = await k.raw(breakCrc(rawRequest(hex(a), 'STATUS')), a);
      const after = await k.raw(rawRequest(hex(a), 'IDENTITY'), a);
      // A good request, a damaged copy, the good one again: the cached reply, byte for byte.
      const good = await k.request('STATUS');
      await k.raw(breakCrc(good.request), good.seq);
      const again = await k.raw(good.request, good.seq);
      return firstFailure(
        ['damaged STATUS', damaged.reply?.args.code === 'BAD_CRC' ? undefined : `expected BAD_CRC, got ${said(damaged)}`],
        ['IDENTITY with its sequence number', expectOk(after, { serial: /./ })],
        ['STATUS again after a damaged copy', again.replyLine === good.replyLine ? undefined : `got ${said(again)}`],
      );
    },
  },
];

/** The same line with a checksum that cannot match. */
export function breakCrc(line: string): string {
  const wrong = Number.parseInt(line.slice(-4), 16) ^ 0x5a5a;
  return `${line.slice(0, -4)}${wrong.toString(16).toUpperCase().padStart(4, '0')}`;
}

function withCrc(body: string): string {
  return `${body} *${crcHex(body)}`;
}

/** A valid request whose checksum is written in lower case (a key is added until it has a letter). */
function lowerCrc(seq: string): string {
  for (let n = 0; ; n++) {
    const body = `>${seq} STATUS n=${n}`;
    const crc = crcHex(body);
    if (/[A-F]/.test(crc)) return `${body} *${crc.toLowerCase()}`;
  }
}
