// What talking to the remote pairing core can meet: no remote configured, the remote not
// answering or refusing, and a chain the remote holds differently. Nothing is lost by any of them:
// sync resumes where it stopped.
import { errorClass } from '../common/errors.ts';

export const SYNC_ERRORS = {
  NO_REMOTE: {
    message: 'No remote pairing core is configured.',
    action: 'Set the pairing URL and agent token in Settings (F4), or pass --remote URL.',
  },
  REMOTE_URL_INVALID: {
    message: 'The remote pairing core URL is not an http(s) URL.',
    action: 'Give the URL of the remote core, e.g. https://pairing.plant:4003.',
  },
  SYNC_UNREACHABLE: {
    message: 'The remote pairing core did not answer.',
    action: 'Check the network and that the remote core runs, then try again: nothing is lost, sync resumes where it stopped.',
  },
  SYNC_REFUSED: {
    message: 'The remote pairing core refused the request.',
    action: 'Check the agent token: its realm and a_pa scope must allow agent/imports/.* and agent/audit/.*.',
  },
  REMOTE_QUERY_FAILED: {
    message: 'The remote pairing core refused the audit query.',
    action: 'Check the agent token: its a_pa scope must allow agent/audit/.*.',
  },
  SYNC_CHAIN_MISMATCH: {
    message: 'The remote pairing core holds a different audit chain for this station.',
    action: 'Another station uses the same station id, or this trail was replaced: ask QA before syncing it.',
  },
  SYNC_CHAIN_REFUSED: {
    message: "The remote pairing core refused this station's audit chain.",
    action: 'Run imprint audit verify on this station: its trail was altered or is incomplete.',
  },
} as const;

export type SyncErrorCode = keyof typeof SYNC_ERRORS;

export const SyncError = errorClass('SyncError', SYNC_ERRORS);
export type SyncError = InstanceType<typeof SyncError>;
