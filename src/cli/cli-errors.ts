// What the command line itself refuses or fails at. Every usage error is BAD_USAGE or
// INVALID_ARGUMENT (src/common/common-errors.ts): both exit 2 (src/cli/exit-codes.ts).
import { errorClass } from '../common/errors.ts';

export const CLI_ERRORS = {
  BAD_USAGE: {
    message: 'The command line is not valid.',
    action: 'See the command help (--help).',
  },
  KEY_EXISTS: {
    message: 'A key file is already there.',
    action: 'Use --force to overwrite it, or another --out folder.',
  },
  RELOAD_FAILED: {
    message: 'The process could not be told to reload.',
    action: 'Check that it runs and that this user may signal it, or restart it.',
  },
} as const;

export type CliErrorCode = keyof typeof CLI_ERRORS;

export const CliError = errorClass('CliError', CLI_ERRORS);
export type CliError = InstanceType<typeof CliError>;

/** A usage error (exit 2). */
export function usage(detail: string): never {
  throw new CliError('BAD_USAGE', detail);
}
