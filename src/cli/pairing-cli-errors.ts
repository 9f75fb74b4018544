// Pairing domain errors worded for a command line: the realm or device named (the HTTP texts hide too much here).
import { ImprintError } from '../common/errors.ts';
import { PairingError, type PairingErrorCode } from '../pairing/pairing-api.ts';

export function cliError(e: unknown, ctx: { realm?: string; deviceId?: string }): unknown {
  if (!(e instanceof PairingError)) return e;
  if (e.code === 'REALM_NOT_FOUND')
    return new ImprintError<PairingErrorCode>(
      'REALM_NOT_FOUND',
      `Unknown realm "${ctx.realm}" (see: imprint pairing realm list)`,
    );
  if (e.code === 'DEVICE_NOT_FOUND')
    return new ImprintError<PairingErrorCode>('DEVICE_NOT_FOUND', `Device ${ctx.deviceId} not found in realm "${ctx.realm}"`);
  if (e.fields) {
    const text = Object.entries(e.fields)
      .map(([k, v]) => `${k} ${v.join(', ')}`)
      .join('; ');
    return new ImprintError(e.code, `Invalid input: ${text}`);
  }
  return e;
}
