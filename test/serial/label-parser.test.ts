import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ImprintError } from '../../src/common/errors.ts';
import { parseLabel } from '../../src/serial/label-parser.ts';

const GS = '\x1d';

describe('label parser', () => {
  const cases: [string, string, { kind: string; value: string; gtin?: string }, string?][] = [
    ['bare serial', 'SN123456', { kind: 'serial', value: 'SN123456' }],
    ['serial with dashes, surrounding whitespace', '  ACME-2026-000042\r\n', { kind: 'serial', value: 'ACME-2026-000042' }],
    ['upper-case 22-char serial stays a serial', 'ABCDEFGHIJKLMNOPQRSTUV', { kind: 'serial', value: 'ABCDEFGHIJKLMNOPQRSTUV' }],
    ['MAC with colons', 'a4:cf:12:0b:9e:01', { kind: 'mac', value: 'A4:CF:12:0B:9E:01' }],
    ['MAC with dashes', 'A4-CF-12-0B-9E-01', { kind: 'mac', value: 'A4:CF:12:0B:9E:01' }],
    ['MAC Cisco style', 'a4cf.120b.9e01', { kind: 'mac', value: 'A4:CF:12:0B:9E:01' }],
    ['MAC: prefix', 'MAC:a4cf120b9e01', { kind: 'mac', value: 'A4:CF:12:0B:9E:01' }],
    ['device id', 'AJInS0w3VpWpuOqkXhgZdA', { kind: 'device-id', value: 'AJInS0w3VpWpuOqkXhgZdA' }],
    ['ID: prefix', 'ID:AJINS0W3VPWPUOQKXHGZDA', { kind: 'device-id', value: 'AJINS0W3VPWPUOQKXHGZDA' }],
    ['GS1 human-readable', '(01)09506000134352(21)SN123456', { kind: 'serial', value: 'SN123456', gtin: '09506000134352' }],
    [
      'GS1 raw with GS',
      `0109506000134352${'21'}SN123456${GS}10LOT7`,
      { kind: 'serial', value: 'SN123456', gtin: '09506000134352' },
    ],
    ['GS1 raw, serial last', '010950600013435221SN123456', { kind: 'serial', value: 'SN123456', gtin: '09506000134352' }],
    [
      'GS1 with AIM prefix',
      ']d2010950600013435217261231' + '21SN777',
      { kind: 'serial', value: 'SN777', gtin: '09506000134352' },
    ],
    [
      'GS1 Digital Link',
      'https://id.example.com/01/09506000134352/21/SN123456',
      { kind: 'serial', value: 'SN123456', gtin: '09506000134352' },
    ],
    ['URL ?serial=', 'https://acme.example/device?serial=SN-42&x=1', { kind: 'serial', value: 'SN-42' }],
    ['URL ?sn=', 'http://acme.example/d?sn=SN43', { kind: 'serial', value: 'SN43' }],
    [
      'URL ?device_id=',
      'https://acme.example/p?device_id=AJInS0w3VpWpuOqkXhgZdA',
      { kind: 'device-id', value: 'AJInS0w3VpWpuOqkXhgZdA' },
    ],
    ['AIM prefix on a bare serial', ']C0SN123456', { kind: 'serial', value: 'SN123456' }],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => {
      const r = parseLabel(input);
      assert.equal(r.kind, expected.kind);
      assert.equal(r.value, expected.value);
      assert.equal(r.gtin, expected.gtin);
    });
  }

  it('uses the scanner-reported symbology to read raw GS1 data', () => {
    const r = parseLabel('21SN99', { symbology: ']C1' });
    assert.deepEqual([r.kind, r.value, r.source], ['serial', 'SN99', 'gs1']);
  });

  it('honours a configured serial pattern', () => {
    assert.throws(() => parseLabel('XY12', { serialPattern: /^SN\d{6}$/ }), { code: 'LABEL_UNRECOGNISED' });
    assert.equal(parseLabel('SN000001', { serialPattern: /^SN\d{6}$/ }).value, 'SN000001');
  });

  const rejects: [string, string, RegExp][] = [
    ['empty', '   ', /empty/],
    ['free text', 'hello world', /not recognised/],
    ['too short', 'AB', /not recognised/],
    ['URL without serial', 'https://acme.example/products/42', /holds no serial/],
    ['GS1 without AI 21', '(01)09506000134352(10)LOT1', /no serial number/],
    ['GS1 with a bad GTIN length', '(01)0950600013435(21)SN1', /could not be read/],
    ['GS1 with an unknown AI', '(99999)X(21)SN1', /could not be read/],
    ['control characters', 'SN\x0012345', /not recognised/],
  ];
  for (const [name, input, message] of rejects) {
    it(`rejects ${name} with LABEL_UNRECOGNISED`, () => {
      assert.throws(
        () => parseLabel(input),
        (e: unknown) => e instanceof ImprintError && e.code === 'LABEL_UNRECOGNISED' && message.test(e.message),
      );
    });
  }
});
