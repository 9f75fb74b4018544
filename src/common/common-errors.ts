// Codes any layer may meet where a person gave a value or a file: one home, so that `--anchor`,
// `--public-key` and the pairing CLI's key files all say the same thing in the same words.
import { errorClass } from './errors.ts';

export const COMMON_ERRORS = {
  INVALID_ARGUMENT: {
    message: 'A value given on the command line or in a request is not valid.',
    action: 'Check the value against the command help (--help) and run it again.',
  },
  INVALID_DEVICE_ID: {
    message: 'Invalid device id: an Astarte device id is 128 bits as base64url without padding (22 characters).',
    action: "Check the id (or the label it was made from) and the station's device id rule.",
  },
  FILE_UNREADABLE: {
    message: 'Cannot read a file.',
    action: 'Check the path and that this user may read it.',
  },
  FILE_UNWRITABLE: {
    message: 'Cannot write a file or folder.',
    action: 'Check the path, the free space and that this user may write there.',
  },
} as const;

export type CommonErrorCode = keyof typeof COMMON_ERRORS;

export const CommonError = errorClass('CommonError', COMMON_ERRORS);
export type CommonError = InstanceType<typeof CommonError>;
