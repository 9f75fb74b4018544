// Request/response matching against a scripted device that misbehaves on purpose.
import assert from 'node:assert/strict';
import type { Duplex } from 'node:stream';
import { describe, it } from 'node:test';
import { DeviceError } from '../../src/serial/device-error.ts';
import { encodeFrame, type Frame, FrameDecoder } from '../../src/serial/frame-codec.ts';
import { FramedLink } from '../../src/serial/framed-link.ts';
import { createDuplexPair } from '../../src/sim/duplex-pair.ts';

/** A device whose every answer the test decides: `onRequest` returns the lines to send back. */
function scriptedDevice(end: Duplex, onRequest: (f: Frame, count: number) => string[] | Promise<string[]>): Frame[] {
  const seen: Frame[] = [];
  const decoder = new FrameDecoder();
  end.on('data', async (chunk) => {
    for (const r of decoder.push(chunk)) {
      if (r.kind !== 'frame') continue;
      seen.push(r.frame);
      for (const line of await onRequest(r.frame, seen.length)) end.write(line);
    }
  });
  return seen;
}

const reply = (seq: number, args: Record<string, string> = {}, verb = 'OK') => encodeFrame({ dir: '<', seq, verb, args });

describe('framed link', () => {
  it('never matches a stale reply with an old sequence number to the next request', async () => {
    const [station, dev] = createDuplexPair();
    let firstSeq = 0;
    scriptedDevice(dev, (f, n) => {
      if (n <= 2) {
        firstSeq = f.seq;
        return []; // STATUS: no answer in time, twice
      }
      // The long-delayed STATUS answer arrives now, just before the IDENTITY answer.
      return [reply(firstSeq, { state: 'written', digest: 'a'.repeat(64) }), reply(f.seq, { serial: 'SN-1' })];
    });
    const link = new FramedLink(station, { timeoutMs: 30, retries: 1 });
    await assert.rejects(link.request('STATUS'), (e: unknown) => e instanceof DeviceError && e.code === 'TIMEOUT');
    const r = await link.request('IDENTITY');
    assert.equal(r.args.serial, 'SN-1');
    assert.equal(link.stats.discarded, 1);
    station.destroy();
  });

  it('retransmits with the same sequence number, and at once when the reply arrived damaged', async () => {
    const [station, dev] = createDuplexPair();
    const seen = scriptedDevice(dev, (f, n) => {
      if (n === 1) return [reply(f.seq, { state: 'empty' }).replace('empty', 'emptx')]; // bad CRC
      if (n === 2) return [reply(f.seq, { code: 'BAD_CRC' }, 'ERR')]; // the device saw our request damaged
      if (n === 3)
        return [encodeFrame({ dir: '>', seq: f.seq, verb: 'OK', args: {} }), 'garbage\n', reply(f.seq, { state: 'empty' })];
      return [];
    });
    // A long timeout: only the immediate retransmissions can make this finish quickly.
    const link = new FramedLink(station, { timeoutMs: 10_000, retries: 3 });
    const started = Date.now();
    const r = await link.request('STATUS');
    assert.ok(Date.now() - started < 5000);
    assert.equal(r.args.state, 'empty');
    assert.equal(seen.length, 3);
    assert.ok(seen.every((f) => f.seq === seen[0].seq && f.verb === 'STATUS'));
    station.destroy();
  });

  it('runs one request at a time and gives each caller its own reply', async () => {
    const [station, dev] = createDuplexPair();
    let inFlight = 0;
    scriptedDevice(dev, async (f) => {
      inFlight++;
      assert.equal(inFlight, 1);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return [reply(f.seq, { echo: f.verb })];
    });
    const link = new FramedLink(station, { timeoutMs: 500 });
    const verbs = ['HELLO', 'IDENTITY', 'STATUS', 'LOCK'];
    const replies = await Promise.all(verbs.map((v) => link.request(v)));
    assert.deepEqual(
      replies.map((r) => r.args.echo),
      verbs,
    );
    station.destroy();
  });

  it('fails pending and later requests with DISCONNECTED when the port closes', async () => {
    const [station, dev] = createDuplexPair();
    scriptedDevice(dev, () => {
      setTimeout(() => dev.destroy(), 10);
      return [];
    });
    const link = new FramedLink(station, { timeoutMs: 10_000 });
    await assert.rejects(
      link.request('WRITE', { secret: 'x' }),
      (e: unknown) => e instanceof DeviceError && e.code === 'DISCONNECTED',
    );
    await assert.rejects(link.request('STATUS'), (e: unknown) => e instanceof DeviceError && e.code === 'DISCONNECTED');
    assert.equal(link.isOpen, false);
  });
});
