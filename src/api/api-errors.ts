// What the station API itself refuses (requests, admin PIN) and what its shells can meet (the
// desktop keychain, the UI build). Codes the station, audit and sync layers raise keep their own
// catalogues; web-server.ts maps every one of them to an HTTP status.
import { errorClass } from '../common/errors.ts';

export const API_ERRORS = {
  VALIDATION: {
    message: 'The request is not valid.',
    action: 'Correct the listed field and try again.',
  },
  ADMIN_PIN_INVALID: {
    message: 'Wrong admin PIN.',
    action: 'Only an admin can do this; ask your supervisor.',
  },
  PIN_LOCKED: {
    message: 'Too many wrong PINs: admin sign-in is locked.',
    action: 'Wait for the lock to end, then try again; or reset the PIN with `imprint admin-pin --reset`.',
  },
  ADMIN_PIN_WEAK: {
    message: 'The admin PIN must have 4 to 64 characters.',
    action: 'Choose a PIN of 4 to 64 characters.',
  },
  ADMIN_PIN_FILE_INVALID: {
    message: 'The admin PIN file is damaged.',
    action: 'Run `imprint admin-pin --reset` to set a new PIN.',
  },
  NO_PARENT: {
    message: 'The keychain of the desktop shell is not reachable: no IPC channel to it.',
    action: 'Start the station through the desktop app, or in web mode (`imprint web`).',
  },
  KEYCHAIN_TIMEOUT: {
    message: 'The desktop shell did not answer a keychain request.',
    action: 'Restart the desktop app.',
  },
  KEYCHAIN_ERROR: {
    message: 'The OS keychain refused the request.',
    action: 'Unlock the OS keychain (or check its settings), then try again.',
  },
  UI_NOT_BUILT: {
    message: 'The Imprint UI is not built and its build tools are not installed.',
    action: 'Run `npm install` (with dev dependencies) then `npm run build:ui`, or install a package that ships renderer/dist.',
  },
  UI_BUILD_LOCKED: {
    message: 'Another process is building the Imprint UI.',
    action: 'Wait for it to finish and start again (a lock older than a few minutes is removed by itself).',
  },
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

export const ApiError = errorClass('ApiError', API_ERRORS);
export type ApiError = InstanceType<typeof ApiError>;
