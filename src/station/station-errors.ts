// What the station itself can refuse or fail at, apart from a device's failures (failure-codes.ts)
// and the faults that pause the line (line-faults.ts): its data folder, its key and write-ahead
// records, its configuration, who is signed in, its fixtures.
import { errorClass } from '../common/errors.ts';

export const STATION_ERRORS = {
  STATION_DB_UNUSABLE: {
    message: 'The station database cannot be used.',
    action: 'Restore the data folder from its backup; pending secrets are only recoverable with station.db and station.key.',
  },
  STATION_DATA_UNUSABLE: {
    message: "A file of the station's data folder cannot be used.",
    action: 'Tell plant IT: check the disk holding the data folder, or restore it from its backup.',
  },
  VAULT_WRITE_FAILED: {
    message: 'A write-ahead record of a pending secret could not be stored.',
    action: "Check the free space and health of the disk holding the station's data folder.",
  },
  VAULT_KEY_INSECURE: {
    message: 'The station key is readable by other users.',
    action: 'Make it private to the station user (chmod 600 station.key), then start again.',
  },
  VAULT_KEY_INVALID: {
    message: 'The station key is not a 32-byte key (damaged or cut).',
    action:
      'Restore station.key from its backup. Only if `imprint station status` lists no pending record, move the file away: the station then makes a new key.',
  },
  VAULT_KEY_MISSING: {
    message: 'The station key is missing but pending records exist.',
    action: 'Restore the station key file from its backup; without it pending records cannot be recovered.',
  },
  VAULT_RECORD_INVALID: {
    message: 'A write-ahead record cannot be opened.',
    action:
      'The station key file does not belong to this database, or the record was altered: restore both from the same backup.',
  },
  SECRET_STORE_CORRUPT: {
    message: 'The station secret store is not valid JSON.',
    action: 'Restore it from a backup, or delete it and set the agent token again.',
  },
  BAD_CONFIG: {
    message: 'The station configuration is not valid.',
    action: 'Fix the listed fields (docs/station.md, "Configuration file").',
  },
  AGENT_TOKEN_MISSING: {
    message: 'The remote pairing core needs an agent token.',
    action:
      'Set the agent token in Settings (F4), or pass --agent-token / set IMPRINT_AGENT_TOKEN on the command line (plant IT mints it for the realm).',
  },
  REALM_KEY_ORPHANED: {
    message: "A realm key exists in the station's data folder but its realm does not.",
    action: "Restore the embedded core's database (pairing.sqlite) from its backup, or move the realm key away.",
  },
  NOT_SIGNED_IN: {
    message: 'Nobody is signed in at the station.',
    action: 'Scan your badge or type your name to sign in.',
  },
  UNKNOWN_FIXTURE: {
    message: 'The station has no such fixture.',
    action: 'Check the fixture id in the station settings.',
  },
  NO_FIXTURE_WAITING: {
    message: 'No fixture is waiting for a scan.',
    action: 'Put the device in a free fixture first, then scan its label.',
  },
  SIMULATOR_ERROR: {
    message: 'The simulated line failed.',
    action: 'Restart the station; if it repeats, check that socat is installed (simulated devices on PTYs need it).',
  },
  LINE_INTERRUPTED: {
    message: 'The line was stopped while it was paused.',
    action: 'Start the line again once the fault is cleared.',
  },
  START_NEEDS_BATCH: {
    message: 'The line cannot start without an open batch.',
    action: 'Open a batch first: scan its work order (WO:…) or press F3.',
  },
  NOTHING_TO_ACKNOWLEDGE: {
    message: 'The fixture holds no failure to acknowledge.',
    action: 'Acknowledge the FAIL shown on a fixture card.',
  },
  NO_LABEL_TO_REPRINT: {
    message: 'No device has passed here yet, so there is no label to reprint.',
    action: 'A label is reprinted only for a device that passed (the last PASS of the line, or of the fixture).',
  },
  LABEL_PRINT_FAILED: {
    message: 'The label printer did not take the label.',
    action: 'Check that the printer is on, has labels, and is reachable from the station; then reprint.',
  },
} as const;

export type StationErrorCode = keyof typeof STATION_ERRORS;

export const StationError = errorClass('StationError', STATION_ERRORS);
export type StationError = InstanceType<typeof StationError>;
