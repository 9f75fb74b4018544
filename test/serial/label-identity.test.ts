// A scanned label against the identity keys a device reports (docs/labels.md, "Label against device").
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { deriveDeviceId } from '../../src/common/device-id.ts';
import { checkLabel } from '../../src/serial/label-identity.ts';
import { parseLabel } from '../../src/serial/label-parser.ts';

const uuid = (serial: string) => deriveDeviceId(serial);
const check = (label: string, identity: Parameters<typeof checkLabel>[1], idFor: (s: string) => string | undefined = uuid) =>
  checkLabel(parseLabel(label), identity, idFor);

it('a serial label: the serial, case-insensitively', () => {
  assert.deepEqual(check('sn123456', { hardwareSerial: 'SN123456' }), { agrees: true });
  assert.deepEqual(check('SN123457', { hardwareSerial: 'SN123456' }), {
    agrees: false,
    detail: 'label serial SN123457, device serial SN123456',
  });
});

it('a MAC label: mac= when reported, never the serial then; the serial for a v1.0 device without mac=', () => {
  const mac = 'A4:CF:12:0B:9E:01';
  assert.deepEqual(check('a4cf.120b.9e01', { hardwareSerial: 'SNM0001', mac }), { agrees: true });
  assert.equal(check(mac, { hardwareSerial: 'A4CF120B9E01', mac: 'A4:CF:12:0B:9E:02' }).agrees, false);
  assert.deepEqual(check(mac, { hardwareSerial: 'a4-cf-12-0b-9e-01' }), { agrees: true });
  assert.deepEqual(check(mac, { hardwareSerial: 'SNM0001' }), {
    agrees: false,
    detail: 'label mac A4:CF:12:0B:9E:01, device reports no mac, serial SNM0001',
  });
});

it('a device-id label: the id the device knows, else the one derived from its serial, else nothing to contradict', () => {
  const id = uuid('SN123456');
  assert.deepEqual(check(`ID:${id}`, { hardwareSerial: 'SN123456' }), { agrees: true });
  assert.equal(check(`ID:${id}`, { hardwareSerial: 'SN999' }).agrees, false);
  assert.deepEqual(check(`ID:${id}`, { hardwareSerial: 'SN999', deviceId: id }), { agrees: true });
  assert.deepEqual(
    check(`ID:${id}`, { hardwareSerial: 'SN999' }, () => undefined),
    { agrees: true },
  );
});

it("a GS1 label's GTIN against gtin=, when both have one", () => {
  const label = '(01)09506000134352(21)SN123456';
  assert.deepEqual(check(label, { hardwareSerial: 'SN123456', gtin: '09506000134352' }), { agrees: true });
  assert.deepEqual(check(label, { hardwareSerial: 'SN123456' }), { agrees: true });
  assert.deepEqual(check(label, { hardwareSerial: 'SN123456', gtin: '09506000134369' }), {
    agrees: false,
    detail: 'label gtin 09506000134352, device gtin 09506000134369',
  });
});
