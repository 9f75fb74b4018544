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
    message: 'The remote pairing core holds a different audit chain under this station id.',
    action:
      'Another station uses the same station id (two hosts with the same name before station ids had a suffix), or this trail was replaced. ' +
      'Give this station its own id (imprint station run --station-id NEW, or stationId in station.json), enrol it (imprint station enroll), then sync again; ' +
      'if the trail was replaced, ask QA first.',
  },
  OFFLINE_IMPORTS_UNSUPPORTED: {
    message:
      'The remote pairing core cannot import offline registrations (it has no import API, as Astarte itself), so remote-with-offline-fallback would write secrets it can never learn.',
    action:
      'Use the deferred policy (devices wait in their fixture with nothing written and are provisioned when the core answers), or remote; offline fallback needs a core with the import API (imprint pairing serve).',
  },
  OFFLINE_CAPABILITY_UNKNOWN: {
    message:
      'The remote pairing core does not answer, and this station has never learnt whether it can import offline registrations.',
    action:
      'Start the station once while the core answers (it remembers the answer for that URL and realm), or use the deferred policy.',
  },
  REMOTE_TOKEN_REFUSED: {
    message: 'The remote pairing core refused the agent token.',
    action:
      "Use a token minted for this realm by this core's realm key, with the scopes docs/sync.md lists (plant IT: imprint pairing token).",
  },
  REMOTE_SCOPE_MISSING: {
    message: 'The agent token may not do this on the remote pairing core.',
    action: 'Ask plant IT for a token with the scope named here (docs/sync.md, "Scopes").',
  },
  STATION_NOT_ENROLLED: {
    message: 'The remote pairing core does not know this station: it accepts imports only from enrolled stations.',
    action:
      'Plant IT enrols it once: imprint station enroll --pairing URL --realm REALM (a token with POST::agent/imports/stations), then sync again.',
  },
  ENROLMENT_UNSUPPORTED: {
    message: 'The remote pairing core has no station enrolment (it is not an Imprint core with the import API).',
    action: 'Enrol stations at the central Imprint core (imprint pairing serve); a plain Astarte core takes no offline imports.',
  },
  STATION_KEY_MISMATCH: {
    message: 'The remote pairing core has this station id enrolled with another signing key.',
    action:
      "Another station already uses this id, or this station's key was replaced: give this station its own id (--station-id NEW) and enrol it, or ask plant IT.",
  },
  SYNC_CHAIN_REFUSED: {
    message: "The remote pairing core refused this station's audit chain.",
    action: 'Run imprint audit verify on this station: its trail was altered or is incomplete.',
  },
  DEVICE_ALREADY_CONFIRMED: {
    message: "The device already obtained credentials from the core with the core's secret: the core's registration stays.",
    action: "Keep the core's side (imprint sync resolve DEVICE --keep core) and re-provision the device online.",
  },
} as const;

export type SyncErrorCode = keyof typeof SYNC_ERRORS;

export const SyncError = errorClass('SyncError', SYNC_ERRORS);
export type SyncError = InstanceType<typeof SyncError>;
