import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc16CcittFalse, crcHex } from '../../src/serial/crc16.ts';
import { MAX_FRAME_BYTES } from '../../src/serial/device-protocol.ts';
import { decodeValue, encodeFrame, encodeValue, FrameDecoder, parseLine, redactLine } from '../../src/serial/frame-codec.ts';
import { seededRandom } from '../../src/sim/seeded-random.ts';

const SECRET = Buffer.alloc(32, 0xfb).toString('base64'); // has '+' and '/'

describe('CRC-16/CCITT-FALSE', () => {
  it('matches the catalogue check value', () => {
    assert.equal(crc16CcittFalse('123456789'), 0x29b1);
    assert.equal(crcHex(''), 'FFFF');
  });
});

describe('frame codec', () => {
  it('encodes a request the way the protocol document shows it', () => {
    const line = encodeFrame({ dir: '>', seq: 7, verb: 'STATUS', args: {} });
    assert.equal(line, `>0007 STATUS *${crcHex('>0007 STATUS')}\n`);
  });

  it('round-trips arguments, escaping spaces, percent signs and non-ASCII', () => {
    const args = { msg: 'storage is 100% locked', url: 'https://pairing.example.com/v1?a=b*c', name: 'Zürich', secret: SECRET };
    const line = encodeFrame({ dir: '<', seq: 0xffff, verb: 'OK', args });
    assert.ok(!line.slice(0, -1).includes('\n'));
    const r = parseLine(line.slice(0, -1));
    assert.equal(r.kind, 'frame');
    assert.deepEqual(r.kind === 'frame' && r.frame, { dir: '<', seq: 0xffff, verb: 'OK', args });
    assert.equal(decodeValue(encodeValue('a b%c')), 'a b%c');
  });

  it('detects a flipped bit as BAD_CRC and keeps the readable sequence number', () => {
    const line = encodeFrame({ dir: '<', seq: 0x12, verb: 'OK', args: { state: 'empty' } }).slice(0, -1);
    const damaged = line.replace('empty', 'emptz');
    const r = parseLine(damaged);
    assert.deepEqual([r.kind, r.kind === 'error' && r.code, r.kind === 'error' && r.seq], ['error', 'BAD_CRC', 0x12]);
  });

  it('tells malformed frames and console noise apart', () => {
    assert.equal(parseLine('boot: secure element ready').kind, 'noise');
    assert.deepEqual(parseLine('>00 STATUS *1234'), {
      kind: 'error',
      code: 'BAD_FRAME',
      line: '>00 STATUS *1234',
      seq: undefined,
    });
    const noCrc = parseLine('>0001 STATUS');
    assert.equal(noCrc.kind === 'error' && noCrc.code, 'BAD_FRAME');
    const body = '>0001 STATUS junk';
    const badArg = parseLine(`${body} *${crcHex(body)}`);
    assert.equal(badArg.kind === 'error' && badArg.code, 'BAD_FRAME');
    const zero = '>0000 STATUS';
    assert.equal(parseLine(`${zero} *${crcHex(zero)}`).kind, 'error');
  });

  it('recovers a frame glued behind the remains of a damaged line (a lost LF)', () => {
    const lost = encodeFrame({ dir: '<', seq: 4, verb: 'OK', args: { state: 'empty' } }).slice(0, 12);
    const next = encodeFrame({ dir: '<', seq: 5, verb: 'OK', args: { serial: 'SN-1' } });
    const r = new FrameDecoder().push(`${lost}${next}`);
    assert.equal(r.length, 1);
    assert.deepEqual(r[0].kind === 'frame' && r[0].frame, { dir: '<', seq: 5, verb: 'OK', args: { serial: 'SN-1' } });
    assert.equal(parseLine('noise <0005 OK *0000').kind, 'noise', 'a bad CRC later in the line is no frame');
  });

  it('v1.1 values: %XX in either case; a bad escape, non-UTF-8 or NUL is malformed; hex case of seq and CRC is strict', () => {
    assert.equal(decodeValue('a%2fb%2Fc'), 'a/b/c');
    assert.equal(decodeValue('caf%C3%A9'), 'café');
    for (const bad of ['%zz', '%4', '%FF', '%C3%28', '%ED%A0%80', '%00', 'caf\xe9'])
      assert.equal(decodeValue(bad), undefined, bad);
    const body = '>00AB STATUS';
    assert.equal(parseLine(`${body} *${crcHex(body)}`).kind, 'frame');
    const lowerSeq = '>00ab STATUS';
    assert.deepEqual(parseLine(`${lowerSeq} *${crcHex(lowerSeq)}`), {
      kind: 'error',
      code: 'BAD_FRAME',
      line: `${lowerSeq} *${crcHex(lowerSeq)}`,
      seq: undefined,
    });
    assert.equal(crcHex(body), '1F83');
    assert.deepEqual(parseLine(`${body} *1f83`), { kind: 'error', code: 'BAD_FRAME', line: `${body} *1f83`, seq: 0xab });
  });

  it('tolerates CR LF line endings', () => {
    const d = new FrameDecoder();
    const out = d.push(Buffer.from(encodeFrame({ dir: '<', seq: 1, verb: 'OK', args: {} }).replace('\n', '\r\n')));
    assert.equal(out.length, 1);
    assert.equal(out[0].kind, 'frame');
  });

  it('reassembles frames split across chunks and separates frames in one chunk', () => {
    const a = encodeFrame({ dir: '<', seq: 1, verb: 'OK', args: { state: 'empty' } });
    const b = encodeFrame({ dir: '<', seq: 2, verb: 'OK', args: {} });
    const d = new FrameDecoder();
    const all = Buffer.from(a + b);
    const results = [];
    for (let i = 0; i < all.length; i += 3) results.push(...d.push(all.subarray(i, i + 3)));
    assert.deepEqual(
      results.map((r) => r.kind === 'frame' && r.frame.seq),
      [1, 2],
    );
    assert.equal(d.pending, 0);
  });

  it('bounds its buffer: an endless line is reported once as TOO_LONG and decoding resumes after it', () => {
    const d = new FrameDecoder();
    const out = [];
    for (let i = 0; i < 100; i++) out.push(...d.push(Buffer.alloc(100, 0x41)));
    assert.ok(d.pending <= MAX_FRAME_BYTES);
    out.push(...d.push(`\n${encodeFrame({ dir: '<', seq: 3, verb: 'OK', args: {} })}`));
    assert.deepEqual(
      out.map((r) => (r.kind === 'frame' ? `frame ${r.frame.seq}` : r.kind === 'error' ? r.code : r.kind)),
      ['TOO_LONG', 'frame 3'],
    );
  });

  it('redacts secrets in log lines, even when the key was damaged, and keeps digests', () => {
    const digest = 'a'.repeat(64);
    assert.equal(redactLine(`>0001 WRITE secret=${SECRET} *ABCD\n`), '>0001 WRITE secret=[redacted] *ABCD');
    assert.ok(!redactLine(`>0001 WRITE sXcret=${SECRET} *ABCD`).includes(SECRET.slice(0, 20)));
    assert.ok(redactLine(`<0001 OK digest=${digest} *ABCD`).includes(digest));
    assert.equal(redactLine('a\x00b'), 'a\\x00b');
  });
});

describe('frame decoder fuzz', () => {
  it('survives random bytes, truncations and bit flips: no throw, no hang, bounded memory, valid frames still decoded', () => {
    const random = seededRandom(20261123);
    const good = [
      encodeFrame({ dir: '<', seq: 9, verb: 'OK', args: { state: 'written', digest: 'f'.repeat(64) } }),
      encodeFrame({ dir: '>', seq: 10, verb: 'WRITE', args: { secret: SECRET } }),
      encodeFrame({ dir: '<', seq: 11, verb: 'ERR', args: { code: 'LOCKED', msg: 'storage is locked' } }),
    ];
    const d = new FrameDecoder();
    let frames = 0;
    let errors = 0;
    for (let i = 0; i < 3000; i++) {
      const pick = random();
      let chunk: Buffer;
      if (pick < 0.3) {
        chunk = Buffer.alloc(1 + Math.floor(random() * 700));
        for (let j = 0; j < chunk.length; j++) chunk[j] = Math.floor(random() * 256);
      } else {
        const frame = Buffer.from(good[Math.floor(random() * good.length)]);
        if (pick < 0.5)
          chunk = frame.subarray(0, Math.floor(random() * frame.length)); // truncated
        else if (pick < 0.7) {
          chunk = Buffer.from(frame);
          chunk[Math.floor(random() * (chunk.length - 1))] ^= 1 << Math.floor(random() * 8); // flipped
        } else chunk = frame;
      }
      for (const r of d.push(chunk)) {
        if (r.kind === 'frame') {
          frames++;
          // Anything decoded as a frame must re-encode to a line whose CRC holds.
          assert.equal(parseLine(encodeFrame(r.frame).slice(0, -1)).kind, 'frame');
        } else if (r.kind === 'error') {
          errors++;
          assert.ok(['BAD_FRAME', 'BAD_CRC', 'TOO_LONG'].includes(r.code));
        }
      }
      assert.ok(d.pending <= MAX_FRAME_BYTES);
    }
    assert.ok(frames > 100, `some intact frames decode (got ${frames})`);
    assert.ok(errors > 100, `damage is reported (got ${errors})`);
    // After garbage, a line break resynchronises the decoder.
    d.push('\n');
    const r = d.push(good[0]);
    assert.equal(r.length, 1);
    assert.equal(r[0].kind, 'frame');
  });
});
