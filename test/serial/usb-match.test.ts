import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DeviceError } from '../../src/serial/device-error.ts';
import { osSerialPorts } from '../../src/serial/ports.ts';
import { matchUsbPorts, resolveUsbPort } from '../../src/serial/usb-match.ts';
import { defaultStationConfig, parseStationConfig } from '../../src/station/station-config.ts';

const ftdi = { vendorId: '0403', productId: '6001' };

test('a fixture matched by USB identity keeps its adapter when it comes back on another path', async () => {
  let listed = [
    { path: '/dev/ttyUSB0', vendorId: '0403', productId: '6001', serialNumber: 'FIX-A' },
    { path: '/dev/ttyUSB1', vendorId: '067b', productId: '2303', serialNumber: 'OTHER' },
  ];
  const list = async () => listed;
  const usb = { ...ftdi, serialNumber: 'FIX-A' };
  assert.equal(await resolveUsbPort(usb, list), '/dev/ttyUSB0');
  // Re-plugged: the OS numbers it differently; the identity still finds it.
  listed = [
    { path: '/dev/ttyUSB1', vendorId: '067b', productId: '2303', serialNumber: 'OTHER' },
    { path: '/dev/ttyUSB2', vendorId: '0403', productId: '6001', serialNumber: 'FIX-A' },
  ];
  assert.equal(await resolveUsbPort(usb, list), '/dev/ttyUSB2');
});

test('hex ids match in any case; the serial number must match exactly', () => {
  const ports = [{ path: '/dev/a', vendorId: '0A5C', productId: 'ABCD', serialNumber: 'x1' }];
  assert.equal(matchUsbPorts(ports, { vendorId: '0a5c', productId: 'abcd' }).length, 1);
  assert.equal(matchUsbPorts(ports, { vendorId: '0a5c', productId: 'abcd', serialNumber: 'X1' }).length, 0);
});

test('no adapter, or two that cannot be told apart, is an error naming the identity and what to do', async () => {
  await assert.rejects(
    resolveUsbPort(ftdi, async () => []),
    { code: 'USB_PORT_NOT_FOUND', message: /USB 0403:6001/ },
  );
  const twins = [
    { path: '/dev/ttyUSB0', ...ftdi },
    { path: '/dev/ttyUSB1', ...ftdi },
  ];
  await assert.rejects(
    resolveUsbPort(ftdi, async () => twins),
    (e: Error & { code: string; hint?: string }) => {
      assert.equal(e.code, 'USB_PORT_AMBIGUOUS');
      assert.match(e.message, /\/dev\/ttyUSB0, \/dev\/ttyUSB1/);
      assert.match(e.hint ?? '', /serial number/);
      return true;
    },
  );
});

test('station.json takes a fixture with a USB identity and refuses a malformed one', () => {
  const base = defaultStationConfig();
  const ok = parseStationConfig({
    ...base,
    fixtures: [{ id: 'F1', devicePort: '/dev/ttyUSB0', usb: { ...ftdi, serialNumber: 'FIX-A' } }],
  });
  assert.equal(ok.fixtures[0].usb?.serialNumber, 'FIX-A');
  assert.throws(
    () =>
      parseStationConfig({
        ...base,
        fixtures: [{ id: 'F1', devicePort: '/dev/ttyUSB0', usb: { vendorId: 'FTDI', productId: '6001' } }],
      }),
    { code: 'BAD_CONFIG' },
  );
});

test('without udevadm (a container, a minimal install) the ports are the adapters in /dev, named, without USB identity', async () => {
  const dev = mkdtempSync(join(tmpdir(), 'imprint-dev-'));
  try {
    for (const n of ['ttyUSB1', 'ttyUSB0', 'ttyACM0', 'ttyAMA0', 'ttyS0', 'tty1', 'ttyUSBx', 'null'])
      writeFileSync(join(dev, n), '');
    const noUdevadm = async () => {
      throw Object.assign(new Error('spawn udevadm ENOENT'), { code: 'ENOENT', syscall: 'spawn udevadm' });
    };
    const r = await osSerialPorts(noUdevadm, dev);
    assert.equal(r.usbIdentity, false);
    assert.deepEqual(
      r.ports.map((p) => p.path),
      ['ttyACM0', 'ttyAMA0', 'ttyUSB0', 'ttyUSB1'].map((n) => join(dev, n)),
    );
    // Any other failure of the listing is not hidden.
    const broken = async () => {
      throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
    };
    await assert.rejects(osSerialPorts(broken, dev), /EACCES/);
    // With the listing, its answer as it is.
    const listed = await osSerialPorts(async () => [{ path: '/dev/ttyUSB7', vendorId: '0403', productId: '6001' }], dev);
    assert.deepEqual(listed, { ports: [{ path: '/dev/ttyUSB7', vendorId: '0403', productId: '6001' }], usbIdentity: true });
  } finally {
    rmSync(dev, { recursive: true, force: true });
  }
});

test('a fixture found by USB identity, on a system that cannot tell identities: a clear USB_PORT_NOT_FOUND', async () => {
  // The default listing: this machine has udevadm or not; either way no FTDI adapter of this serial is plugged in.
  await assert.rejects(resolveUsbPort({ vendorId: '0403', productId: '6001', serialNumber: 'NO-SUCH-ADAPTER-1' }), (e) => {
    assert.ok(e instanceof DeviceError);
    assert.equal(e.code, 'USB_PORT_NOT_FOUND');
    if (spawnSync('udevadm', ['--version']).error)
      assert.match(
        e.message,
        /udevadm is not installed, so this system cannot tell serial ports by USB identity: install udev, or give the fixture its port path/,
      );
    return true;
  });
});
