// The StationApi, implemented once over the station, its audit trail and its settings. Both
// transports (Electron IPC, HTTP + SSE) carry exactly this object. Every input is checked here
// against the same schemas, every settings change and sign-in is audited, and no secret (agent
// token, admin PIN) ever leaves it.
import { EventEmitter } from 'node:events';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import type { AuditPage, AuditSearch } from '../audit/audit-page-query.ts';
import type { AuditEvent, AuditEventInput, AuditQuery, Batch, ChainStatus } from '../audit/audit-types.ts';
import type { ImprintError } from '../common/errors.ts';
import { type Logger, silentLogger } from '../common/logger.ts';
import { ensurePrivateDir } from '../common/private-fs.ts';
import { createDeviceClient } from '../serial/device-client.ts';
import { closeStream, listPorts as listSerialPorts, openDevicePort } from '../serial/ports.ts';
import { testLabelPrinter } from '../station/label-printer.ts';
import { maskSecret, type SecretStore } from '../station/secret-store.ts';
import type { SimulatedFault } from '../station/simulated-line.ts';
import { Station, workOrderOf } from '../station/station.ts';
import {
  loadStationConfig,
  parseStationConfig,
  type StationConfig,
  saveStationConfig,
  stationConfigPath,
  toStationSettings,
} from '../station/station-config.ts';
import { StationError } from '../station/station-errors.ts';
import {
  queryRemoteAudit as fetchRemoteAudit,
  queryRemoteAuditPage as fetchRemoteAuditPage,
  type RemoteAuditTarget,
} from '../sync/remote-audit.ts';
import { SyncClient } from '../sync/sync-client.ts';
import { SyncError } from '../sync/sync-errors.ts';
import { readSyncStatus } from '../sync/sync-status.ts';
import { ApiError } from './api-errors.ts';
import {
  AuditQuerySchema,
  AuditSearchSchema,
  OpenBatchBody,
  RemoteAuditPageSchema,
  ReprintBody,
  ScanBody,
  SettingsPatchSchema,
  SignInBody,
  TestPortBody,
  UnlockAdminBody,
} from './api-schemas.ts';
import { BADGE_PATTERN, type OperatorAuth } from './operator-auth.ts';
import { checkAgentToken, offlineFallback, pairingHealth } from './pairing-policy.ts';
import type {
  AdminGrant,
  BatchReport,
  LabelReprint,
  OperatorSession,
  PortInfo,
  PortTestResult,
  SettingsPatch,
  StationApi,
  StationEvent,
  StationSettings,
  StationStatus,
  SyncStatus,
} from './station-api.ts';

/** How long an admin unlock is shown as such (each settings change renews it; the PIN is checked each time). */
const ADMIN_GRANT_MS = 10 * 60_000;

/** The SecretStore entry holding the remote core's agent token. */
export const AGENT_TOKEN_SECRET = 'agentToken';

export interface SimulationOptions {
  fixtures: number;
  faultRate?: number;
  faults?: readonly SimulatedFault[];
  seed?: number;
  /** Pause before each next device so a person can read each PASS/FAIL (default 1500 ms). */
  swapDelayMs?: number;
  /** Devices on PTYs in a worker process (needs socat) instead of in-process streams. */
  pty?: boolean;
  /** The simulated operator takes a failed device out after this long, releasing its held FAIL (default: never). */
  removeFailedAfterMs?: number;
}

export interface StationServiceOptions {
  dataDir: string;
  auth: OperatorAuth;
  secrets: SecretStore;
  /** Run a simulated line. Default: simulated when no fixture port is configured. */
  simulate?: SimulationOptions;
  logger?: Logger;
  /** Port discovery (the serial layer's by default). */
  listPorts?: (configured: string[]) => Promise<PortInfo[]>;
}

function check<T>(schema: TSchema, value: unknown, what: string): T {
  if (!Value.Check(schema, value)) {
    const first = [...Value.Errors(schema, value)][0];
    throw new ApiError('VALIDATION', `${what}${first ? `: ${first.instancePath || '/'} ${first.message}` : ''}`);
  }
  return value as T;
}

export class StationService implements StationApi {
  private station: Station;
  private config: StationConfig;
  private readonly events = new EventEmitter<{ event: [StationEvent] }>();
  private detach: () => void;
  private operator?: OperatorSession;
  private reloading: Promise<void> = Promise.resolve();
  /** False between closing the station for a reload and opening its successor. */
  private stationOpen = true;
  private wasRunning = false;
  /** The admin who unlocked the settings last (never the line operator). */
  private adminGrant?: AdminGrant;
  /** The sync in progress: a second click waits for it instead of starting another. */
  private syncing?: Promise<unknown>;
  private readonly log: Logger;

  private constructor(
    private readonly opts: StationServiceOptions,
    station: Station,
  ) {
    this.station = station;
    this.config = station.config;
    this.log = opts.logger ?? silentLogger;
    this.events.setMaxListeners(100);
    this.detach = this.attach(station);
  }

  static async open(opts: StationServiceOptions): Promise<StationService> {
    // The folder first: a station id made now is stored at once (station-config.ts, stationIdOf).
    ensurePrivateDir(opts.dataDir, opts.logger);
    const config = loadStationConfig(stationConfigPath(opts.dataDir));
    return new StationService(opts, await StationService.openStation(opts, config));
  }

  private static async openStation(opts: StationServiceOptions, config: StationConfig): Promise<Station> {
    return Station.open({
      dataDir: opts.dataDir,
      config,
      agentToken: config.pairing.mode === 'embedded' ? undefined : await opts.secrets.get(AGENT_TOKEN_SECRET),
      offlinePolicy: offlineFallback,
      pairingHealth,
      simulate: StationService.simulationFor(opts, config),
      logger: opts.logger,
      // A person watches the line: a FAIL stays until they acknowledge it.
      holdFailures: true,
    });
  }

  /** The simulated line these settings run: the option's, or one when no fixture port is configured. */
  private static simulationFor(opts: StationServiceOptions, config: StationConfig) {
    const sim = opts.simulate ?? (config.fixtures.length === 0 ? { fixtures: Math.max(config.simulatedFixtures, 2) } : undefined);
    return (
      sim && {
        fixtures: sim.fixtures,
        faultRate: sim.faultRate,
        faults: sim.faults,
        seed: sim.seed,
        swapDelayMs: sim.swapDelayMs ?? 1500,
        removeFailedAfterMs: sim.removeFailedAfterMs,
        inProcess: !sim.pty,
      }
    );
  }

  private attach(station: Station): () => void {
    return station.subscribe((e) => this.events.emit('event', e));
  }

  /** The running station (for the CLI and tests). */
  get current(): Station {
    return this.station;
  }

  /** Sign-ins and settings changes are audited; a station that cannot record refuses them in plain words. */
  private audit(input: Omit<AuditEventInput, 'station'>): Promise<AuditEvent> {
    return this.station.records.record(input);
  }

  private requireOperator(): OperatorSession {
    if (!this.operator) throw new StationError('NOT_SIGNED_IN');
    return this.operator;
  }

  // ── state and events ───────────────────────────────────────────────────────────────────

  async getStatus(): Promise<StationStatus> {
    await this.reloading;
    return this.station.status();
  }

  subscribe(listener: (event: StationEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  // ── who is at the station ──────────────────────────────────────────────────────────────

  async signIn(credentials: { name?: string; badge?: string; pin?: string }): Promise<OperatorSession> {
    const creds = check<{ name?: string; badge?: string; pin?: string }>(SignInBody, credentials, 'sign-in');
    let session: OperatorSession;
    try {
      session = await this.opts.auth.signIn(creds);
    } catch (e) {
      if (creds.pin !== undefined) {
        await this.audit({
          operator: creds.name,
          step: 'sign-in',
          outcome: 'fail',
          errorCode: (e as ImprintError).code,
          message: 'admin PIN refused',
        });
      }
      throw e;
    }
    this.operator = session;
    this.station.setOperator(session);
    await this.audit({
      operator: session.name,
      step: 'sign-in',
      outcome: 'info',
      data: { role: session.role, by: creds.pin ? 'pin' : creds.badge ? 'badge' : 'name' },
    });
    return session;
  }

  /** The settings unlocked by the admin PIN: audited, and the line operator stays who they are. */
  async unlockAdmin(pin: string, name?: string): Promise<AdminGrant> {
    const body = check<{ pin: string; name?: string }>(UnlockAdminBody, { pin, name }, 'admin unlock');
    const who = body.name?.trim() || 'admin';
    try {
      await this.opts.auth.requireAdmin(body.pin);
    } catch (e) {
      await this.audit({
        operator: who,
        step: 'admin-unlock',
        outcome: 'fail',
        errorCode: (e as ImprintError).code,
        message: 'admin PIN refused',
      });
      throw e;
    }
    this.adminGrant = { name: who, until: new Date(Date.now() + ADMIN_GRANT_MS).toISOString() };
    await this.audit({
      operator: who,
      step: 'admin-unlock',
      outcome: 'info',
      data: { lineOperator: this.operator?.name ?? null },
    });
    return { ...this.adminGrant };
  }

  /** Who changes the settings: the admin who unlocked them (renewed by this use), else the line operator. */
  private adminName(): string {
    if (this.adminGrant) this.adminGrant.until = new Date(Date.now() + ADMIN_GRANT_MS).toISOString();
    return this.adminGrant?.name ?? this.operator?.name ?? 'admin';
  }

  async signOut(): Promise<void> {
    const who = this.operator;
    this.operator = undefined;
    this.station.setOperator(undefined);
    if (who) await this.audit({ operator: who.name, step: 'sign-out', outcome: 'info' });
  }

  // ── the line ───────────────────────────────────────────────────────────────────────────

  async start(): Promise<void> {
    this.requireOperator();
    await this.reloading;
    if (!this.station.records.currentBatch() && this.config.allowStartWithoutBatch !== true)
      throw new StationError('START_NEEDS_BATCH');
    await this.station.start();
  }

  async stop(): Promise<void> {
    await this.station.stop();
  }

  async submitScan(text: string, fixtureId?: string): Promise<void> {
    const body = check<{ text: string; fixtureId?: string }>(ScanBody, { text, fixtureId }, 'scan');
    const scanned = body.text.trim();
    if (BADGE_PATTERN.test(scanned)) {
      await this.signIn({ badge: scanned });
      return;
    }
    this.requireOperator();
    // A work order scanned like a badge opens a batch (refused while one is open).
    const workOrder = workOrderOf(scanned);
    if (workOrder !== undefined) {
      await this.openBatch(workOrder);
      return;
    }
    await this.station.submitScan(scanned, body.fixtureId);
  }

  // ── batches ────────────────────────────────────────────────────────────────────────────

  async openBatch(workOrder: string): Promise<Batch> {
    const body = check<{ workOrder: string }>(
      OpenBatchBody,
      { workOrder: typeof workOrder === 'string' ? workOrder.trim() : workOrder },
      'work order',
    );
    this.requireOperator();
    return this.station.openBatch(body.workOrder);
  }

  async closeBatch(): Promise<Batch> {
    this.requireOperator();
    return this.station.closeBatch();
  }

  async listBatches(): Promise<Batch[]> {
    return this.station.records.listBatches();
  }

  async batchReport(batchId: string): Promise<BatchReport> {
    return this.station.records.batchReport(batchId);
  }

  // ── the audit trail ────────────────────────────────────────────────────────────────────

  async queryAudit(query: AuditQuery): Promise<AuditEvent[]> {
    return this.station.records.query(check<AuditQuery>(AuditQuerySchema, query ?? {}, 'audit query'));
  }

  async queryAuditPage(query: AuditSearch): Promise<AuditPage> {
    return this.station.records.queryPage(check<AuditSearch>(AuditSearchSchema, query ?? {}, 'audit search'));
  }

  async exportDevices(opts: { query?: AuditSearch }): Promise<string> {
    const q = check<AuditSearch>(AuditSearchSchema, opts?.query ?? {}, 'audit search');
    return this.station.records.exportDevices(q);
  }

  async acknowledgeFailure(fixtureId: string): Promise<void> {
    this.requireOperator();
    if (typeof fixtureId !== 'string') throw new ApiError('VALIDATION', 'the fixture id');
    await this.station.acknowledgeFailure(fixtureId);
  }

  async reprintLabel(fixtureId?: string): Promise<LabelReprint> {
    const body = check<{ fixtureId?: string }>(ReprintBody, fixtureId === undefined ? {} : { fixtureId }, 'reprint');
    // Any signed-in operator: a label is reprinted only for a device that passed, and it is recorded.
    this.requireOperator();
    return this.station.reprintLabel(body.fixtureId);
  }

  async testPrint(): Promise<PortTestResult> {
    return testLabelPrinter(this.config.labelPrinter, this.config.labelTemplate);
  }

  async queryRemoteAudit(query: AuditQuery): Promise<AuditEvent[]> {
    const q = check<AuditQuery>(AuditQuerySchema, query ?? {}, 'audit query');
    return fetchRemoteAudit(await this.remoteAuditTarget(), q);
  }

  async queryRemoteAuditPage(query: AuditQuery & { cursor?: string }): Promise<{ events: AuditEvent[]; nextCursor?: string }> {
    const q = check<AuditQuery & { cursor?: string }>(RemoteAuditPageSchema, query ?? {}, 'audit query');
    return fetchRemoteAuditPage(await this.remoteAuditTarget(), q);
  }

  private async remoteAuditTarget(): Promise<RemoteAuditTarget> {
    const remoteUrl = this.config.pairing.url;
    if (!remoteUrl) {
      throw new SyncError('NO_REMOTE');
    }
    const agentToken = await this.opts.secrets.get(AGENT_TOKEN_SECRET);
    if (!agentToken) {
      throw new StationError('AGENT_TOKEN_MISSING');
    }
    return { remoteUrl, agentToken, realm: this.config.realm };
  }

  // ── offline batches and sync (src/sync, docs/sync.md) ──────────────────────────────────

  async syncStatus(): Promise<SyncStatus> {
    return readSyncStatus({
      dataDir: this.opts.dataDir,
      remoteUrl: this.config.pairing.url,
      realm: this.config.realm,
      stationId: this.config.stationId,
    });
  }

  async sync(): Promise<SyncStatus> {
    this.requireOperator();
    const remoteUrl = this.config.pairing.url;
    if (!remoteUrl) {
      throw new SyncError('NO_REMOTE');
    }
    const agentToken = await this.opts.secrets.get(AGENT_TOKEN_SECRET);
    if (!agentToken) throw new StationError('AGENT_TOKEN_MISSING');
    this.syncing ??= new SyncClient({
      dataDir: this.opts.dataDir,
      remoteUrl,
      agentToken,
      realm: this.config.realm,
      stationId: this.config.stationId,
    })
      .run()
      .finally(() => {
        this.syncing = undefined;
      });
    await this.syncing;
    return this.syncStatus();
  }

  async verifyAudit(): Promise<ChainStatus> {
    return this.station.records.verify();
  }

  async exportAudit(opts: { format: 'csv' | 'jsonl'; batchId?: string; query?: AuditSearch }): Promise<string> {
    if (!opts || (opts.format !== 'csv' && opts.format !== 'jsonl'))
      throw new ApiError('VALIDATION', 'the export format is csv or jsonl');
    const query = opts.query === undefined ? undefined : check<AuditSearch>(AuditSearchSchema, opts.query, 'audit search');
    return this.station.records.export({ format: opts.format, batchId: opts.batchId, query });
  }

  // ── settings (admin) ───────────────────────────────────────────────────────────────────

  async getSettings(): Promise<StationSettings> {
    const settings = toStationSettings(this.config, maskSecret(await this.opts.secrets.get(AGENT_TOKEN_SECRET)));
    return { ...settings, requireScan: this.config.requireScan === true };
  }

  async updateSettings(patch: SettingsPatch, pin: string): Promise<StationSettings> {
    const p = check<SettingsPatch>(SettingsPatchSchema, patch, 'settings');
    try {
      await this.opts.auth.requireAdmin(pin);
    } catch (e) {
      await this.audit({
        operator: this.adminGrant?.name ?? this.operator?.name,
        step: 'settings-change',
        outcome: 'fail',
        errorCode: (e as ImprintError).code,
        message: 'settings change refused: not an admin',
      });
      throw e;
    }
    const before = this.config;
    const { agentToken, ...pairingPatch } = p.pairing ?? {};
    const next = parseStationConfig(
      dropUndefined({
        ...before,
        ...(p.stationId !== undefined ? { stationId: p.stationId } : {}),
        ...(p.realm !== undefined ? { realm: p.realm } : {}),
        ...(p.deviceIdRule !== undefined ? { deviceIdRule: p.deviceIdRule } : {}),
        ...(p.fixtures !== undefined ? { fixtures: p.fixtures } : {}),
        ...(p.simulatedFixtures !== undefined ? { simulatedFixtures: p.simulatedFixtures } : {}),
        ...(p.requireScan !== undefined ? { requireScan: p.requireScan } : {}),
        ...(p.allowStartWithoutBatch !== undefined ? { allowStartWithoutBatch: p.allowStartWithoutBatch } : {}),
        ...(p.labelPrinter !== undefined ? { labelPrinter: p.labelPrinter ?? undefined } : {}),
        ...(p.labelTemplate !== undefined ? { labelTemplate: p.labelTemplate ?? undefined } : {}),
        ...(p.postPassHook !== undefined ? { postPassHook: p.postPassHook ?? undefined } : {}),
        pairing: dropUndefined({
          ...before.pairing,
          ...pairingPatch,
          ...('url' in pairingPatch ? { url: pairingPatch.url } : {}),
        }),
      }),
      'settings',
    );
    const changed = changedKeys(before, next);
    if (agentToken !== undefined) changed.push('pairing.agentToken');
    const oldToken = await this.opts.secrets.get(AGENT_TOKEN_SECRET);
    if (agentToken) await this.opts.secrets.set(AGENT_TOKEN_SECRET, agentToken);
    else if (agentToken === '') await this.opts.secrets.delete(AGENT_TOKEN_SECRET);
    try {
      // A token the core refuses is never saved; a core that does not answer is (the status says so).
      const newToken = agentToken === undefined ? oldToken : agentToken || undefined;
      if (
        next.pairing.mode !== 'embedded' &&
        next.pairing.url &&
        newToken &&
        changed.some((k) => k === 'pairing' || k === 'realm' || k === 'pairing.agentToken')
      )
        await checkAgentToken({ url: next.pairing.url, realm: next.realm, agentToken: newToken });
      await this.apply(next, before);
    } catch (e) {
      // The station would not run on the new settings: the old ones stay (or are put back), running as before.
      if (oldToken) await this.opts.secrets.set(AGENT_TOKEN_SECRET, oldToken);
      else await this.opts.secrets.delete(AGENT_TOKEN_SECRET);
      if (!this.stationOpen) await this.reload(before);
      else if (this.station.config !== before) await this.apply(before, this.station.config);
      await this.audit({
        operator: this.adminName(),
        step: 'settings-change',
        outcome: 'fail',
        errorCode: (e as ImprintError).code ?? 'STATION_ERROR',
        message: `settings not applied: ${(e as Error).message}`,
        data: { changed },
      });
      throw e;
    }
    saveStationConfig(stationConfigPath(this.opts.dataDir), next);
    await this.audit({
      operator: this.adminName(),
      step: 'settings-change',
      outcome: 'ok',
      message: changed.length ? `changed ${changed.join(', ')}` : 'saved without changes',
      // Values of non-secret settings only; the agent token is recorded as "changed", never its value.
      data: { changed, before: publicView(before, changed), after: publicView(next, changed) },
    });
    return this.getSettings();
  }

  /**
   * Put settings into effect. The station reconfigures in place (databases, counters and the line's
   * state kept; the line resumes if it ran); only a new station id, which names the audit trail,
   * reopens it.
   */
  private async apply(next: StationConfig, current: StationConfig): Promise<void> {
    if (next.stationId === current.stationId) {
      const agentToken = next.pairing.mode === 'embedded' ? undefined : await this.opts.secrets.get(AGENT_TOKEN_SECRET);
      await this.station.reconfigure({ config: next, agentToken, simulate: StationService.simulationFor(this.opts, next) });
      this.config = this.station.config;
      return;
    }
    await this.reload(next);
  }

  /** Reopen the station on other settings, resuming the line if it was running. */
  private reload(config: StationConfig): Promise<void> {
    const run = this.reloading.then(async () => {
      if (this.stationOpen) {
        this.wasRunning = this.station.status().running;
        this.stationOpen = false;
        await this.station.close();
        this.detach();
      }
      this.station = await StationService.openStation(this.opts, config);
      this.stationOpen = true;
      this.config = this.station.config;
      this.detach = this.attach(this.station);
      this.station.setOperator(this.operator);
      if (this.wasRunning) await this.station.start();
      this.events.emit('event', { type: 'status', status: this.station.status() });
    });
    // Later calls wait for this reload, whatever its outcome.
    this.reloading = run.catch(() => {});
    return run;
  }

  async listPorts(): Promise<PortInfo[]> {
    const configured = this.config.fixtures.flatMap((f) => (f.scannerPort ? [f.devicePort, f.scannerPort] : [f.devicePort]));
    return (this.opts.listPorts ?? listSerialPorts)(configured);
  }

  async testPort(path: string): Promise<PortTestResult> {
    const body = check<{ path: string }>(TestPortBody, { path }, 'port');
    const inUse =
      this.station.status().running &&
      this.station.fixtures().some((f) => f.devicePort === body.path || f.scannerPort === body.path);
    if (inUse)
      return { path: body.path, ok: true, answered: 'in-use', detail: 'In use by a running fixture (stop the line to test it)' };
    let stream: Awaited<ReturnType<typeof openDevicePort>>;
    try {
      stream = await openDevicePort(body.path);
    } catch (e) {
      const err = e as ImprintError;
      return { path: body.path, ok: false, answered: 'error', detail: err.hint ? `${err.message}. ${err.hint}` : err.message };
    }
    const client = createDeviceClient(stream, { timeoutMs: 400, retries: 1, label: 'port-test' });
    try {
      const hello = await client.hello();
      return {
        path: body.path,
        ok: true,
        answered: 'device',
        detail: `A device answered: ${hello.model}, firmware ${hello.firmware}, protocol v${hello.protocolVersion}`,
      };
    } catch {
      return {
        path: body.path,
        ok: false,
        answered: 'nothing',
        detail: 'The port opens, but no device answered (a scanner only sends when it reads a label)',
      };
    } finally {
      await client.close().catch(() => closeStream(stream));
    }
  }

  async close(): Promise<void> {
    await this.reloading;
    if (!this.stationOpen) return;
    this.stationOpen = false;
    this.detach();
    await this.station.close();
    this.log.debug('station service closed');
  }
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function changedKeys(a: StationConfig, b: StationConfig): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof StationConfig>;
  return [...keys].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

function publicView(c: StationConfig, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k in c).map((k) => [k, c[k as keyof StationConfig]]));
}
