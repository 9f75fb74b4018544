// Does a scanned label name the device in the fixture? The label's identifier is compared with the
// IDENTITY key of the same kind (docs/labels.md, "Label against device"): a mismatch is a label swap.
import { canonicalDeviceId } from '../common/device-id.ts';
import type { DeviceIdentity } from './device-types.ts';
import type { ParsedLabel } from './label-parser.ts';

export type LabelCheck = { agrees: true } | { agrees: false; detail: string };

const serialKey = (s: string) => s.trim().toUpperCase();
const macKey = (s: string) => s.trim().replace(/[:.-]/g, '').toUpperCase();

/**
 * `deviceIdFor` gives the device id the station would derive from a serial (undefined when its
 * rule is "as scanned", where a device that knows no id yet has nothing to contradict the label).
 */
export function checkLabel(
  label: Pick<ParsedLabel, 'kind' | 'value' | 'gtin'>,
  identity: DeviceIdentity,
  deviceIdFor: (serial: string) => string | undefined,
): LabelCheck {
  const mismatch = (what: string, device: string): LabelCheck => ({
    agrees: false,
    detail: `label ${what} ${label.value}, device ${device}`,
  });
  if (label.gtin && identity.gtin && label.gtin !== identity.gtin) {
    return { agrees: false, detail: `label gtin ${label.gtin}, device gtin ${identity.gtin}` };
  }
  switch (label.kind) {
    case 'serial':
      return serialKey(label.value) === serialKey(identity.hardwareSerial)
        ? { agrees: true }
        : mismatch('serial', `serial ${identity.hardwareSerial}`);
    case 'mac':
      // A v1.0 device has no `mac=`: its serial is then taken as the MAC, as v1.0 firmware did.
      if (identity.mac) {
        return macKey(label.value) === macKey(identity.mac) ? { agrees: true } : mismatch('mac', `mac ${identity.mac}`);
      }
      return macKey(label.value) === macKey(identity.hardwareSerial)
        ? { agrees: true }
        : mismatch('mac', `reports no mac, serial ${identity.hardwareSerial}`);
    case 'device-id': {
      const expected = identity.deviceId ?? deviceIdFor(identity.hardwareSerial);
      if (expected === undefined || canonicalOrSelf(label.value) === canonicalOrSelf(expected)) return { agrees: true };
      return mismatch('device id', `device id ${expected}`);
    }
  }
}

function canonicalOrSelf(id: string): string {
  try {
    return canonicalDeviceId(id);
  } catch {
    return id;
  }
}
