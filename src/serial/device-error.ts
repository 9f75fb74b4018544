import { ImprintError } from '../common/errors.ts';
import type { DeviceErrorCode } from './device-types.ts';

/** A device-side or link-level failure. Never carries a secret. */
export class DeviceError extends ImprintError {
  declare readonly code: DeviceErrorCode;

  constructor(
    code: DeviceErrorCode,
    message: string,
    opts: { hint?: string; cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(code, message, opts);
    this.name = 'DeviceError';
  }
}

export function isDeviceError(e: unknown, code?: DeviceErrorCode): e is DeviceError {
  return e instanceof DeviceError && (code === undefined || e.code === code);
}
