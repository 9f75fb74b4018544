import assert from 'node:assert/strict';
import { test } from 'node:test';
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
