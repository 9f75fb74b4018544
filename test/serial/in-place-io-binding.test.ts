// The Linux binding that reads and writes the port in place (src/serial/in-place-io-binding.ts), on a
// socat PTY pair: bytes arrive whole and in order both ways, also when a write is larger than the
// tty's buffer (the write waits for the poller instead of blocking the event loop), and a pulled
// cable still closes the port as disconnected.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import type { SerialPortStream } from '@serialport/stream';
import { closePort, openDevicePort } from '../../src/serial/ports.ts';
import { createPtyPair } from '../../src/sim/pty-pair.ts';

const pairs: { close(): Promise<void> }[] = [];
after(async () => {
  for (const p of pairs) await p.close().catch(() => {});
});

/** Collects `n` bytes from a port. */
function receive(port: SerialPortStream, n: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const onData = (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= n) {
        port.off('data', onData);
        resolve(Buffer.concat(chunks));
      }
    };
    port.on('data', onData);
  });
}

/** The file status flags of the port's descriptor, as the kernel reports them. */
function fdFlags(port: SerialPortStream): number {
  const fd = (port.port as unknown as { fd: number }).fd;
  const line = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8').match(/^flags:\s+([0-7]+)/m);
  return Number.parseInt(line![1], 8);
}

describe('in-place serial I/O (Linux)', { skip: process.platform !== 'linux' }, () => {
  it('carries a large transfer whole and in order both ways, on a non-blocking descriptor', async () => {
    const pair = await createPtyPair({ name: `inplace-${process.pid}` });
    pairs.push(pair);
    const station = await openDevicePort(pair.stationPath);
    const device = await openDevicePort(pair.devicePath);
    try {
      const O_NONBLOCK = 0o4000;
      assert.ok(fdFlags(station) & O_NONBLOCK, 'a full tty buffer must not block the event loop');
      // Far more than a PTY buffers (a few KiB): the writer meets EAGAIN and waits for the poller.
      const out = randomBytes(256 * 1024);
      const back = randomBytes(64 * 1024);
      const [atDevice, atStation] = await Promise.all([
        receive(device, out.length),
        receive(station, back.length),
        new Promise<void>((resolve, reject) => station.write(out, (e) => (e ? reject(e) : resolve()))),
        new Promise<void>((resolve, reject) => device.write(back, (e) => (e ? reject(e) : resolve()))),
      ]);
      assert.ok(atDevice.equals(out));
      assert.ok(atStation.equals(back));
    } finally {
      await closePort(station);
      await closePort(device);
    }
  });

  it('a pulled cable closes the port as disconnected', async () => {
    const pair = await createPtyPair({ name: `inplace-pull-${process.pid}` });
    pairs.push(pair);
    const station = await openDevicePort(pair.stationPath);
    const closed = new Promise<Error | null>((resolve) => station.once('close', resolve));
    await pair.unplug();
    const err = await closed;
    assert.ok(err, 'closed with a reason');
    assert.equal((err as Error & { disconnected?: boolean }).disconnected, true);
    assert.equal(station.isOpen, false);
  });
});
