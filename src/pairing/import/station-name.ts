// A station id as imports, the central audit and enrolment accept it.
import { PairingError } from '../pairing-errors.ts';

const STATION = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

export function checkStationName(station: string): void {
  if (typeof station !== 'string' || !STATION.test(station)) {
    throw new PairingError('VALIDATION', {
      message: 'Invalid station',
      fields: { station: ['must be 1 to 128 letters, digits, ".", "_", ":" or "-"'] },
    });
  }
}
