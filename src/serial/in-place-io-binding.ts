// serialport's Linux binding with reads and writes done in place. The stock binding moves every
// chunk through libuv's thread pool (fs.read/fs.write on the port's non-blocking descriptor), and
// each read that finds nothing yet fails with EAGAIN — an exception with its stack — before it
// waits on the poller: per frame, several thread-pool round trips and exceptions (~1 ms of station
// CPU per device, docs/performance.md). Here a read first waits for the poller to say the port is
// readable, then reads on the event loop; a write goes straight to the descriptor (it is
// non-blocking: the tty's buffer takes a frame at once) and retries shortly only when it is full.
// Same descriptor, options, lock, poller and close as the stock binding; the same errors reach
// the stream (any error but a cancellation closes the port as disconnected).
import { readSync, writeSync } from 'node:fs';
import {
  BindingsError,
  LinuxBinding,
  type LinuxBindingInterface,
  type LinuxOpenOptions,
  type LinuxPortBinding,
} from '@serialport/bindings-cpp';

const RETRY = new Set(['EAGAIN', 'EWOULDBLOCK', 'EINTR']);
/** 115200 baud drains ~11 bytes per ms: a full buffer has room again within a millisecond or two. */
const FULL_BUFFER_RETRY_MS = 1;
/** What the stock binding reads as the device gone (USB unplug, port closed under us). */
const GONE = new Set(['EBADF', 'ENXIO', 'UNKNOWN']);

function canceled(): BindingsError {
  return new BindingsError('Port is not open', { canceled: true });
}

function readable(port: LinuxPortBinding): Promise<void> {
  return new Promise((resolve, reject) => {
    port.poller.once('readable', (err?: Error | null) => (err ? reject(err) : resolve()));
  });
}

function markGone(e: unknown): unknown {
  const err = e as NodeJS.ErrnoException & { disconnect?: boolean };
  if ((err.code && GONE.has(err.code)) || err.errno === -1) err.disconnect = true;
  return err;
}

async function readInPlace(
  port: LinuxPortBinding,
  buffer: Buffer,
  offset: number,
  length: number,
): Promise<{ buffer: Buffer; bytesRead: number }> {
  if (!Buffer.isBuffer(buffer)) throw new TypeError('"buffer" is not a Buffer');
  if (buffer.length < offset + length) throw new Error('buffer is too small');
  for (;;) {
    if (port.fd === null) throw canceled();
    await readable(port);
    if (port.fd === null) throw canceled();
    try {
      const bytesRead = readSync(port.fd, buffer, offset, length, null);
      // 0 bytes: nothing after all (as the stock binding, wait again).
      if (bytesRead > 0) return { buffer, bytesRead };
    } catch (e) {
      if (!RETRY.has((e as NodeJS.ErrnoException).code ?? '')) throw markGone(e);
    }
  }
}

async function writeInPlace(port: LinuxPortBinding, buffer: Buffer): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) {
    if (port.fd === null) throw new Error('Port is not open');
    try {
      offset += writeSync(port.fd, buffer, offset, buffer.length - offset);
    } catch (e) {
      if (!RETRY.has((e as NodeJS.ErrnoException).code ?? '')) throw markGone(e);
      // The tty's buffer is full (a frame larger than it, a slow line): try again shortly. Not the
      // poller: bindings-cpp 13's never forgets a writable interest once asked (poller.cpp keeps
      // its event mask), and would then wake the loop for "writable" over and over while idle.
      await new Promise((resolve) => setTimeout(resolve, FULL_BUFFER_RETRY_MS));
    }
  }
}

/** The stock Linux binding (open, list, close, settings) with in-place reads and writes. */
export const InPlaceLinuxBinding: LinuxBindingInterface = {
  list: () => LinuxBinding.list(),
  async open(options: LinuxOpenOptions) {
    const port = await LinuxBinding.open(options);
    // The stock binding's own field, which its drain() awaits.
    const state = port as unknown as { writeOperation: Promise<void> | null };
    port.read = (buffer: Buffer, offset: number, length: number) => readInPlace(port, buffer, offset, length);
    port.write = (buffer: Buffer) => {
      if (!Buffer.isBuffer(buffer)) return Promise.reject(new TypeError('"buffer" is not a Buffer'));
      if (port.fd === null) return Promise.reject(new Error('Port is not open'));
      // drain() awaits the write in progress, as with the stock binding.
      const op = writeInPlace(port, buffer).finally(() => {
        if (state.writeOperation === op) state.writeOperation = null;
      });
      state.writeOperation = op;
      return op;
    };
    return port;
  },
};
