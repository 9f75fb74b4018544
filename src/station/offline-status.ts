// What the station needs to know of an offline policy: whether its pairing client registers
// offline now, and who and which batch an offline registration belongs to. The policies themselves
// live in src/sync and are assembled with the application (src/api/pairing-policy.ts); the station
// only sees this port.
import type { PairingClient } from '../pairing/pairing-api.ts';

/** Who registers and under which batch: the station supplies it (operator signed in, batch open). */
export interface RegistrationContext {
  operator?: string;
  batchId?: string;
}

export interface OfflineState {
  reachable: boolean;
  offline: boolean;
  /** The batch offline registrations go to when no batch is open (one per outage). */
  outageBatch?: string;
}

/** A pairing client that tells the station when it goes offline and back. */
export interface OfflineAwarePairingClient extends PairingClient {
  setContext(context: () => RegistrationContext): void;
  onOfflineChange(listener: (state: OfflineState) => void): () => void;
  offlineState(): OfflineState;
  /** Registrations made offline: since the client opened, or those journalled under `batchId`. */
  registeredOffline(filter?: { batchId?: string }): number;
}

export function isOfflineAware(c: PairingClient): c is OfflineAwarePairingClient {
  return typeof (c as Partial<OfflineAwarePairingClient>).onOfflineChange === 'function';
}
