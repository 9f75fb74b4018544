// The simulated line's devices, in their own process, each fixture on a real PTY pair (socat):
// the station talks to them through the kernel's serial layer exactly as to a USB device. One
// process hosts every fixture, and swapping the device in a fixture is attaching a new simulator
// to the same port, so a line of thousands of devices does not spawn thousands of processes.
// Driven over the IPC channel by simulated-line.ts; exits when its parent goes away.
import { rmSync } from 'node:fs';
import type { SerialPortStream } from '@serialport/stream';
import { closePort, openDevicePort } from '../serial/ports.ts';
import { type DeviceSimOptions, DeviceSimulator } from '../sim/device-simulator.ts';
import { createPtyPair, type PtyPair } from '../sim/pty-pair.ts';

export type LineWorkerRequest =
  | { type: 'plug'; id: number; fixture: string; sim: DeviceSimOptions }
  /** Take the device out of the fixture; `removeStorage` deletes its storage file (it left the line). */
  | { type: 'unplug'; id: number; fixture: string; removeStorage?: string };

export type LineWorkerReply =
  | { type: 'ready' }
  | { type: 'done'; id: number; path?: string; error?: string }
  /** A fault took the device off the bus: the cable was pulled (the station's port closes). */
  | { type: 'cable-pulled'; fixture: string };

interface Slot {
  pair: PtyPair;
  port?: SerialPortStream;
  sim?: DeviceSimulator;
  pulled: boolean;
}

const slots = new Map<string, Slot>();

function send(msg: LineWorkerReply): void {
  process.send?.(msg);
}

async function plug(fixture: string, sim: DeviceSimOptions): Promise<string> {
  let slot = slots.get(fixture);
  if (!slot) {
    slot = { pair: await createPtyPair({ name: fixture.replace(/[^A-Za-z0-9_-]/g, '_') }), pulled: false };
    slots.set(fixture, slot);
  }
  slot.sim?.detach();
  slot.sim = undefined;
  if (slot.pulled) {
    if (slot.port) await closePort(slot.port).catch(() => {});
    slot.port = undefined;
    await slot.pair.restart();
    slot.pulled = false;
  }
  if (!slot.port) {
    slot.port = await openDevicePort(slot.pair.devicePath);
    // Every simulator attached to this port over the run adds its own listeners.
    slot.port.setMaxListeners(0);
  }
  const device = new DeviceSimulator(sim);
  const current = slot;
  const pull = () => {
    if (current.sim !== device) return;
    current.pulled = true;
    device.detach();
    void current.pair.unplug();
    send({ type: 'cable-pulled', fixture });
  };
  device.on('unplugged', pull);
  device.on('power-loss', pull);
  device.attach(slot.port);
  slot.sim = device;
  return slot.pair.stationPath;
}

function unplug(fixture: string): void {
  const slot = slots.get(fixture);
  slot?.sim?.detach();
  if (slot) slot.sim = undefined;
}

async function shutdown(): Promise<void> {
  for (const slot of slots.values()) {
    slot.sim?.detach();
    if (slot.port) await closePort(slot.port).catch(() => {});
    await slot.pair.close().catch(() => {});
  }
  slots.clear();
  process.exit(0);
}

process.on('message', (msg: LineWorkerRequest) => {
  const run = async () => {
    if (msg.type === 'plug') return plug(msg.fixture, msg.sim);
    unplug(msg.fixture);
    if (msg.removeStorage) rmSync(msg.removeStorage, { force: true });
    return undefined;
  };
  run().then(
    (path) => send({ type: 'done', id: msg.id, path }),
    (e: Error) => send({ type: 'done', id: msg.id, error: e.message }),
  );
});
process.on('disconnect', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
send({ type: 'ready' });
