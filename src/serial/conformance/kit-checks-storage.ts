// The kit's checks that write the device (only with --destructive), in the order they must run:
// each leaves storage in the state the next one needs (empty → written → configured → locked).
import { createHash } from 'node:crypto';
import { deriveDeviceId } from '../../common/device-id.ts';
import { encodeFrame, parseFrameLine } from '../frame-codec.ts';
import type { Check } from './kit-checks-wire.ts';
import { expectErr, expectOk, firstFailure, KIT_SECRETS, type KitContext, said } from './kit-context.ts';
import type { Exchange } from './kit-link.ts';

const [S1, S2] = KIT_SECRETS;
const D1 = createHash('sha256').update(S1, 'ascii').digest('hex');
const [X1, X2] = [deriveDeviceId('imprint-device-test-1'), deriveDeviceId('imprint-device-test-2')];
const CONFIG = {
  realm: 'kitrealm',
  device_id: X1,
  pairing_url: 'https://pairing.kit.example/pairing',
  broker_url: 'mqtts://broker.kit.example:8883',
};
const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** S1 with stray bits in its last character: the same 32 bytes, spelt differently. */
function nonCanonical(secret: string): string {
  const v = BASE64.indexOf(secret[42]);
  return `${secret.slice(0, 42)}${BASE64[(v & ~3) | 1]}=`;
}

function fits(k: KitContext, verb: string, args: Record<string, string>): boolean {
  return encodeFrame({ dir: '>', seq: 1, verb, args }).length <= k.max;
}

/** The digest the device gave for S1 (so a wrong digest fails W-DIGEST alone, not every later rule). */
function stored(k: KitContext): string {
  return (k.state.write as Exchange | undefined)?.reply?.args.digest ?? D1;
}

async function deviceId(k: KitContext): Promise<string | undefined> {
  return (await k.request('IDENTITY')).reply?.args.device_id;
}

/** Is storage empty, or can the kit make it so? Undefined when the storage checks can run. */
export async function prepareStorage(k: KitContext): Promise<string | undefined> {
  const status = await k.request('STATUS');
  const state = status.reply?.args.state;
  if (state === 'empty') return undefined;
  if (!k.caps.includes('reset')) {
    return `storage is ${state ?? 'unknown'} and the device cannot RESET: run --destructive on a device with empty storage`;
  }
  await k.request('RESET');
  const after = await k.request('STATUS');
  return after.reply?.args.state === 'empty' ? undefined : `RESET did not empty storage (STATUS: ${said(after)})`;
}

export const STORAGE_CHECKS: Check[] = [
  {
    id: 'W-ARGS',
    async run(k) {
      const cases: [string, Record<string, string>][] = [
        ['no secret', {}],
        ['43 characters', { secret: S1.slice(0, 43) }],
        ['45 characters', { secret: `${S1}A` }],
        ['a character outside Base64', { secret: `!${S1.slice(1)}` }],
        ['44 characters without padding', { secret: `${S1.slice(0, 43)}A` }],
        ['non-canonical Base64 (stray bits)', { secret: nonCanonical(S1) }],
      ];
      const verdicts: [string, string | undefined][] = [];
      for (const [what, args] of cases) verdicts.push([what, expectErr(await k.request('WRITE', args), 'BAD_ARGUMENT')]);
      verdicts.push(['STATUS afterwards', expectOk(await k.request('STATUS'), { state: 'empty' })]);
      return firstFailure(...verdicts);
    },
  },
  {
    id: 'L-EMPTY',
    run: async (k) =>
      firstFailure(
        ['LOCK', expectErr(await k.request('LOCK'), 'NOT_ALLOWED')],
        ['STATUS afterwards', expectOk(await k.request('STATUS'), { state: 'empty' })],
      ),
  },
  {
    id: 'B-RETRANSMIT',
    async run(k) {
      // Kept for C-REPLAY: the reply to this STATUS must later come back from the cache.
      k.state.replayA = await k.request('STATUS');
      const seq = k.link.nextSeq();
      const line = encodeFrame({ dir: '>', seq, verb: 'WRITE', args: { secret: S1 } }).slice(0, -1);
      k.secretsSent.add(S1);
      const from = k.link.lines.length;
      const first = k.link.exchange(line, seq, k.storageWait);
      k.link.send(line); // retransmissions while the device programs its storage
      k.link.send(line);
      const x = k.timed('storage', await first);
      const synced = await k.link.sync(k.storageWait);
      if (synced) k.timed('quick', synced.probe);
      const replies = k.link.lines
        .slice(from)
        .filter((l) => l.dir === 'rx' && l.line.startsWith(`<${line.slice(1, 5)}`))
        .map((l) => ({ line: l.line, parsed: parseFrameLine(l.line) }));
      const damagedRequest = (f: ReturnType<typeof parseFrameLine>) =>
        f.kind === 'frame' && f.frame.verb === 'ERR' && ['BAD_CRC', 'BAD_FRAME'].includes(f.frame.args.code ?? '');
      const answers = replies.filter((r) => !damagedRequest(r.parsed));
      const ok = answers.find((r) => r.parsed.kind === 'frame' && r.parsed.frame.verb === 'OK');
      if (ok && ok.parsed.kind === 'frame') k.state.write = { ...x, reply: ok.parsed.frame, replyLine: ok.line };
      if (!ok) return `no OK reply to WRITE (${answers.length > 0 ? answers[0].line : said(x)})`;
      const different = answers.find((r) => r.line !== ok.line);
      if (different) return `replies to the same WRITE differ: ${ok.line} / ${different.line}`;
      if (replies.length > 3) return `${replies.length} replies to 3 copies of one WRITE`;
      if (!synced) return 'no reply to the STATUS sent after the WRITE';
      return undefined;
    },
  },
  {
    id: 'W-STORE',
    async run(k) {
      const write = k.state.write as Exchange | undefined;
      k.cite(write);
      if (!write?.reply) return 'WRITE on empty storage got no OK reply (see B-RETRANSMIT)';
      const digest = write.reply.args.digest;
      if (!digest || !/^[0-9a-f]{64}$/.test(digest)) return `WRITE: expected digest=<64 lowercase hex>, got ${said(write)}`;
      return expectOk(await k.request('STATUS'), { state: 'written', digest });
    },
  },
  {
    id: 'W-DIGEST',
    async run(k) {
      const write = k.state.write as Exchange | undefined;
      k.cite(write);
      const digest = write?.reply?.args.digest;
      if (digest === D1) return undefined;
      const ofBytes = createHash('sha256').update(Buffer.from(S1, 'base64')).digest('hex');
      return digest === ofBytes
        ? `digest=${digest} is SHA-256 of the 32 decoded bytes; it must be SHA-256 of the 44 characters (${D1})`
        : `digest=${digest ?? '(none)'}, expected SHA-256 of the 44 characters: ${D1}`;
    },
  },
  {
    id: 'C-REPLAY',
    async run(k) {
      const a = k.state.replayA as Exchange | undefined;
      if (!a?.replyLine) return 'the STATUS to replay got no reply';
      k.cite(a);
      const key = `${a.seq}|${a.request}`;
      // Fill the cache up to 16 entries with A the oldest, then send A again: its old reply must come back.
      while (k.executed.length - 1 - k.executed.indexOf(key) < 15) {
        if (!(await k.request('IDENTITY')).reply) return 'IDENTITY got no reply';
      }
      const again = await k.raw(a.request, a.seq);
      if (again.replyLine === a.replyLine) return undefined;
      return `after 15 more requests, the retransmitted STATUS got ${again.replyLine ?? 'no reply'}, not its cached reply ${a.replyLine}`;
    },
  },
  {
    id: 'W-SAME',
    run: async (k) => expectOk(await k.request('WRITE', { secret: S1 }), { digest: stored(k) }),
  },
  {
    id: 'W-ONCE',
    async run(k) {
      k.secretsSent.add(S2);
      return firstFailure(
        ['WRITE another secret', expectErr(await k.request('WRITE', { secret: S2 }), 'ALREADY_WRITTEN')],
        ['STATUS afterwards', expectOk(await k.request('STATUS'), { state: 'written', digest: stored(k) })],
      );
    },
  },
  {
    id: 'G-ARGS',
    async run(k) {
      const before = await deviceId(k);
      // Short values, so that each broken CONFIG fits in a frame of 128 bytes.
      const base = { realm: 'kit', device_id: X1, pairing_url: 'http://kit' };
      const cases: [string, Record<string, string>][] = [
        ['no pairing_url', { realm: base.realm, device_id: X1 }],
        ['no realm', { device_id: X1, pairing_url: base.pairing_url }],
        ['upper-case realm', { ...base, realm: 'Kit' }],
        // As a CONFIG part on a 1.1 device: the part alone must be refused, and it fits in 128 bytes.
        [
          'realm of 49 characters',
          k.minor >= 1 ? { realm: `k${'a'.repeat(48)}`, more: '1' } : { ...base, realm: `k${'a'.repeat(48)}` },
        ],
        ['device_id of 21 characters', { ...base, device_id: X1.slice(1) }],
        ['non-canonical device_id', { ...base, device_id: `${X1.slice(0, 21)}B` }],
        ['ftp pairing_url', { ...base, pairing_url: 'ftp://kit' }],
        ['pairing_url with nothing after https://', { ...base, pairing_url: 'https://' }],
        ['pairing_url of 257 bytes', { ...base, pairing_url: `https://${'p'.repeat(249)}` }],
        ['broker_url without a scheme', { ...base, broker_url: 'kit:8883' }],
      ];
      if (k.minor >= 1) cases.push(['more=2', { ...base, more: '2' }]);
      const verdicts: [string, string | undefined][] = [];
      const skipped: string[] = [];
      for (const [what, args] of cases) {
        if (!fits(k, 'CONFIG', args)) skipped.push(what);
        else verdicts.push([what, expectErr(await k.request('CONFIG', args), 'BAD_ARGUMENT')]);
      }
      const after = await deviceId(k);
      verdicts.push(['IDENTITY afterwards', after === before ? undefined : `device_id changed from ${before} to ${after}`]);
      const failed = firstFailure(...verdicts);
      if (failed || skipped.length === 0) return failed;
      return { note: `not sent, longer than max=${k.max}: ${skipped.join(', ')}` };
    },
  },
  {
    id: 'G-CONFIG',
    async run(k) {
      const longest: [string, Record<string, string>][] = [
        [
          'realm of 48 and pairing_url of 256',
          { realm: `k${'a'.repeat(47)}`, device_id: X2, pairing_url: `https://${'p'.repeat(248)}` },
        ],
        ['broker_url of 256', { ...CONFIG, device_id: X2, broker_url: `mqtts://${'b'.repeat(248)}` }],
      ];
      const verdicts: [string, string | undefined][] = [];
      const skipped: string[] = [];
      for (const [what, args] of longest) {
        if (!fits(k, 'CONFIG', args)) {
          skipped.push(what);
          continue;
        }
        verdicts.push([what, expectOk(await k.request('CONFIG', args))]);
        verdicts.push([`IDENTITY after ${what}`, expectOk(await k.request('IDENTITY'), { device_id: X2 })]);
      }
      const whole = fits(k, 'CONFIG', CONFIG) ? CONFIG : { realm: 'k', device_id: X1, pairing_url: 'http://p' };
      verdicts.push([`CONFIG ${Object.keys(whole).join(' ')}`, expectOk(await k.request('CONFIG', whole))]);
      verdicts.push(['IDENTITY afterwards', expectOk(await k.request('IDENTITY'), { device_id: X1 })]);
      const failed = firstFailure(...verdicts);
      if (failed || skipped.length === 0) return failed;
      return { note: `not sent, longer than max=${k.max}: ${skipped.join(', ')}` };
    },
  },
  {
    id: 'G-PARTS',
    async run(k) {
      if (k.minor < 1) return { skip: 'the device speaks protocol 1.0 (no minor=1): CONFIG parts are a 1.1 feature' };
      const rest = { pairing_url: CONFIG.pairing_url, broker_url: CONFIG.broker_url };
      return firstFailure(
        ['first part', expectOk(await k.request('CONFIG', { realm: 'kitparts', device_id: X2, more: '1' }))],
        ['IDENTITY between the parts (nothing stored yet)', expectOk(await k.request('IDENTITY'), { device_id: X1 })],
        ['last part', expectOk(await k.request('CONFIG', rest))],
        ['IDENTITY after the last part', expectOk(await k.request('IDENTITY'), { device_id: X2 })],
        ['a part, then HELLO', expectOk(await k.request('CONFIG', { realm: 'kitparts', device_id: X1, more: '1' }))],
        ['HELLO', expectOk(await k.request('HELLO', { v: '1' }))],
        ['the last part after HELLO (staged keys gone)', expectErr(await k.request('CONFIG', rest), 'BAD_ARGUMENT')],
        ['IDENTITY afterwards', expectOk(await k.request('IDENTITY'), { device_id: X2 })],
      );
    },
  },
  {
    id: 'L-LOCK',
    async run(k) {
      // Kept for C-HELLO: after LOCK and HELLO this STATUS must be executed again, not replayed.
      const b = await k.request('STATUS');
      k.state.replayB = b;
      const locked = { state: 'locked', digest: stored(k) };
      return firstFailure(
        ['STATUS before', expectOk(b, { state: 'written', digest: stored(k) })],
        ['LOCK', expectOk(await k.request('LOCK'), locked)],
        ['LOCK again', expectOk(await k.request('LOCK'), locked)],
        ['STATUS afterwards', expectOk(await k.request('STATUS'), locked)],
      );
    },
  },
  {
    id: 'C-HELLO',
    async run(k) {
      const b = k.state.replayB as Exchange | undefined;
      if (!b?.replyLine) return 'the STATUS to replay got no reply';
      k.cite(b);
      const hello = expectOk(await k.request('HELLO', { v: '1' }));
      const again = await k.raw(b.request, b.seq);
      return firstFailure(
        ['HELLO', hello],
        [
          'the STATUS sent before LOCK, sent again after HELLO',
          again.replyLine === b.replyLine
            ? 'answered from the cache HELLO should have cleared'
            : expectOk(again, { state: 'locked' }),
        ],
      );
    },
  },
  {
    id: 'L-WRITE',
    run: async (k) =>
      firstFailure(
        ['WRITE the stored secret', expectOk(await k.request('WRITE', { secret: S1 }), { digest: stored(k) })],
        ['WRITE another secret', expectErr(await k.request('WRITE', { secret: S2 }), 'LOCKED')],
        ['STATUS afterwards', expectOk(await k.request('STATUS'), { state: 'locked', digest: stored(k) })],
      ),
  },
  {
    id: 'R-RESET',
    async run(k) {
      const before = [said(await k.request('STATUS')), await deviceId(k)];
      if (!k.caps.includes('reset')) {
        const refused = expectErr(await k.request('RESET'), 'NOT_ALLOWED');
        const after = [said(await k.request('STATUS')), await deviceId(k)];
        return firstFailure(
          ['RESET without the reset capability', refused],
          ['STATUS and IDENTITY afterwards', after.join() === before.join() ? undefined : `changed: ${after.join(', ')}`],
        );
      }
      return firstFailure(
        ['RESET', expectOk(await k.request('RESET'), { state: 'empty' })],
        ['STATUS afterwards', expectOk(await k.request('STATUS'), { state: 'empty', digest: undefined })],
        ['IDENTITY afterwards', expectOk(await k.request('IDENTITY'), { device_id: undefined })],
      );
    },
  },
];
