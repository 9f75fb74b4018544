// The station's policy when the remote pairing core is unreachable:
// - `remote`: the plain RemotePairingClient answers UNREACHABLE and the station pauses the whole line
//   (PAIRING_CORE_UNREACHABLE, src/station/line-gate.ts) until the core answers again;
// - `remote-with-offline-fallback`: this client registers in the station's embedded core instead,
//   journalled under an offline batch for `imprint sync`, and goes back to the remote by itself as
//   soon as it answers again (probed with GET /health, short timeout, cached);
// - `embedded`: the station is the authority (fully detached plant): the embedded core alone.
import { randomUUID } from 'node:crypto';
import { canonicalDeviceId } from '../common/device-id.ts';
import { isImprintError } from '../common/errors.ts';
import { type Logger, silentLogger } from '../common/logger.ts';
import type { EmbeddedPairingCore } from '../pairing/embedded-core.ts';
import type { DeviceInfo, PairingClient, RegisterOptions, VerifyResult } from '../pairing/pairing-api.ts';
import type { OfflineAwarePairingClient, OfflineState, RegistrationContext } from '../station/offline-status.ts';
import type { ConnectivityProbe } from './connectivity-probe.ts';
import type { SyncState } from './sync-state.ts';

export type PairingPolicy = 'embedded' | 'remote' | 'remote-with-offline-fallback';

export type { OfflineAwarePairingClient, OfflineState, RegistrationContext } from '../station/offline-status.ts';
export { isOfflineAware } from '../station/offline-status.ts';

/** Transport failures: the remote core did not answer (or answered 5xx), so nothing was decided there. */
export function isUnreachable(e: unknown): boolean {
  return isImprintError(e) && (e.code === 'UNREACHABLE' || e.code === 'REMOTE_ERROR');
}

export interface FallbackPairingClientOptions {
  remote: PairingClient;
  embedded: EmbeddedPairingCore;
  probe: ConnectivityProbe;
  state: SyncState;
  stationId: string;
  logger?: Logger;
  now?: () => Date;
  /** How often to probe while offline and idle (default 5 s). */
  watchIntervalMs?: number;
}

export class FallbackPairingClient implements OfflineAwarePairingClient {
  readonly kind = 'remote' as const;
  readonly url: string | undefined;
  readonly #remote: PairingClient;
  readonly #embedded: EmbeddedPairingCore;
  readonly #probe: ConnectivityProbe;
  readonly #state: SyncState;
  readonly #stationId: string;
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #listeners = new Set<(s: OfflineState) => void>();
  #context: () => RegistrationContext = () => ({});
  /** While offline: probes now and then so the status turns back to online even when the line is idle. */
  #watch: NodeJS.Timeout | undefined;
  readonly #watchMs: number;
  #offline = false;
  #outageBatch: string | undefined;
  #registeredOffline = 0;

  constructor(opts: FallbackPairingClientOptions) {
    this.#remote = opts.remote;
    this.url = opts.remote.url;
    this.#embedded = opts.embedded;
    this.#probe = opts.probe;
    this.#state = opts.state;
    this.#stationId = opts.stationId;
    this.#log = (opts.logger ?? silentLogger).child({ component: 'offline-fallback' });
    this.#now = opts.now ?? (() => new Date());
    this.#watchMs = opts.watchIntervalMs ?? 5000;
  }

  setContext(context: () => RegistrationContext): void {
    this.#context = context;
  }

  onOfflineChange(listener: (state: OfflineState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  offlineState(): OfflineState {
    return { reachable: !this.#offline, offline: this.#offline, outageBatch: this.#outageBatch };
  }

  registeredOffline(filter: { batchId?: string } = {}): number {
    return filter.batchId === undefined ? this.#registeredOffline : this.#state.offlineCount(filter.batchId);
  }

  /** Probe now (for a status refresh); switches back online when the remote answers. */
  async refresh(): Promise<OfflineState> {
    const c = await this.#probe.check({ fresh: true });
    if (c.reachable && this.#offline) this.#setOffline(false);
    else if (!c.reachable && !this.#offline) this.#setOffline(true, c.reason);
    return this.offlineState();
  }

  async registerDevice(realm: string, hwId: string, opts?: RegisterOptions): Promise<{ credentialsSecret: string }> {
    // While offline, one cached probe per few seconds decides when to go back to the remote.
    if (this.#offline && (await this.#probe.check()).reachable) this.#setOffline(false);
    if (!this.#offline) {
      try {
        const r = await this.#remote.registerDevice(realm, hwId, opts);
        this.#probe.observe(true);
        return r;
      } catch (e) {
        if (!isUnreachable(e)) throw e;
        this.#probe.observe(false, (e as Error).message);
        this.#setOffline(true, (e as Error).message);
      }
    }
    return this.#registerOffline(realm, hwId, opts);
  }

  async #registerOffline(realm: string, hwId: string, opts?: RegisterOptions): Promise<{ credentialsSecret: string }> {
    const r = await this.#embedded.registerDevice(realm, hwId, opts);
    const deviceId = canonicalDeviceId(hwId);
    const ctx = this.#context();
    const registeredAt = (await this.#embedded.showDevice(realm, deviceId)).lastRegistrationAt ?? this.#now().toISOString();
    // The secret hash stays in the embedded core; the journal says which batch and who.
    this.#state.recordOffline({ realm, deviceId, batch: ctx.batchId ?? this.#outage(), registeredAt, operator: ctx.operator });
    this.#registeredOffline++;
    return r;
  }

  #outage(): string {
    this.#outageBatch ??= `offline-${this.#stationId}-${this.#now().toISOString()}-${randomUUID().slice(0, 8)}`;
    return this.#outageBatch;
  }

  #setOffline(offline: boolean, reason?: string): void {
    if (this.#offline === offline) return;
    this.#offline = offline;
    if (offline) {
      this.#log.warn({ url: this.url, reason }, 'remote pairing core unreachable: registering offline');
      this.#watch = setInterval(() => void this.refresh().catch(() => {}), this.#watchMs);
      this.#watch.unref();
    } else {
      this.#log.info({ url: this.url }, 'remote pairing core answers again: registering online');
      this.#outageBatch = undefined;
      clearInterval(this.#watch);
      this.#watch = undefined;
    }
    const s = this.offlineState();
    for (const l of this.#listeners) l(s);
  }

  async unregisterDevice(realm: string, deviceId: string): Promise<void> {
    return this.#either((c) => c.unregisterDevice(realm, deviceId));
  }

  async getInfo(realm: string, hwId: string, secret: string): Promise<DeviceInfo> {
    return this.#either((c) => c.getInfo(realm, hwId, secret));
  }

  async requestCredentials(realm: string, hwId: string, secret: string, csrPem: string): Promise<{ clientCrt: string }> {
    return this.#either((c) => c.requestCredentials(realm, hwId, secret, csrPem));
  }

  async verifyCredentials(realm: string, hwId: string, secret: string, crtPem: string): Promise<VerifyResult> {
    return this.#either((c) => c.verifyCredentials(realm, hwId, secret, crtPem));
  }

  /** Device calls (rare on a station): the remote, or the embedded core while offline. */
  async #either<T>(op: (c: PairingClient) => Promise<T>): Promise<T> {
    if (this.#offline) return op(this.#embedded);
    try {
      return await op(this.#remote);
    } catch (e) {
      if (!isUnreachable(e)) throw e;
      return op(this.#embedded);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#watch);
    this.#watch = undefined;
    await Promise.allSettled([this.#remote.close(), this.#embedded.close()]);
    this.#state.close();
  }
}
