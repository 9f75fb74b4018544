// The station: its databases (station.db, audit.db), the pairing core, the fixtures, and what the
// UI and the CLI see of it (status snapshot, live events, start/stop, scans, counters).
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { AuditError } from '../audit/audit-errors.ts';
import { AuditTrail } from '../audit/audit-trail.ts';
import type { AuditEvent, AuditEventInput, Batch } from '../audit/audit-types.ts';
import { type Logger, silentLogger } from '../common/logger.ts';
import { ensurePrivateDir } from '../common/private-fs.ts';
import type { PairingClient } from '../pairing/pairing-api.ts';
import type { DeviceClientOptions } from '../serial/device-client.ts';
import { parseLabel } from '../serial/label-parser.ts';
import { openScannerReader } from '../serial/scanner-reader.ts';
import { AuditBatcher } from './audit-batcher.ts';
import { type DeviceSource, FixtureRunner } from './fixture-runner.ts';
import { lineFaultOf, linePauseInfo } from './line-faults.ts';
import { type ActivePause, type LineChange, LineGate } from './line-gate.ts';
import { isOfflineAware } from './offline-status.ts';
import { type Reachability, type ReachabilityCheckFactory, ReachabilityWatch } from './pairing-reachability.ts';
import { type OfflinePolicy, openPairing } from './pairing-setup.ts';
import { type DecisionContext, discardPending, setAsideDevice } from './pending-decisions.ts';
import { PortDeviceSource, portDeviceLocator } from './port-device-source.ts';
import { PostPassActions } from './post-pass-actions.ts';
import { type AuditSink, type PairingRoute, ProvisioningWorkflow, type ProvisionResult } from './provisioning-workflow.ts';
import { type DeviceLocator, type RecoveryItem, type RecoveryReport, recoverPending } from './recovery.ts';
import { SecretVault } from './secret-vault.ts';
import { SimulatedLine, type SimulatedLineOptions, simulatedDeviceLocator, simulatedFixtureId } from './simulated-line.ts';
import { DEFAULT_PAIRING_URL, loadStationConfig, type StationConfig, stationConfigPath } from './station-config.ts';
import { type RegistryRow, StationDb, type VaultRow } from './station-db.ts';
import { StationError } from './station-errors.ts';
import { StationRecords } from './station-records.ts';
import type {
  FixtureState,
  HeldFailure,
  LinePause,
  OperatorSession,
  PairingStatus,
  ShiftCounters,
  StationEvent,
  StationStatus,
} from './station-types.ts';
import { TrailCounters } from './trail-counters.ts';

/** `WO:<work order>` or `WO-<work order>` (a scanned work order): the work order; undefined for anything else. */
export function workOrderOf(scanned: string): string | undefined {
  return /^WO[:-]\s*(.+)$/i.exec(scanned.trim())?.[1].trim();
}

/** A store that cannot be opened because of the disk (damaged, full, read-only) is named in the error. */
async function naming<T>(file: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (e) {
    if (!lineFaultOf(e, 'data') || (e as Error).message.includes(file)) throw e;
    throw new StationError('STATION_DATA_UNUSABLE', `${file}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * How long a device's audit events wait for other fixtures' events to share a trail commit (at most
 * this, and not at all once every device in progress is waiting on the trail).
 */
const AUDIT_BATCH_WINDOW_MS = 10;

const SIMULATOR_GONE = {
  gone: true,
  reason: 'the simulated device is gone: no simulator or storage file holds it any more',
} as const;

export interface StationOptions {
  dataDir: string;
  /** Default: `<data>/station.json` (or built-in defaults when absent). */
  config?: StationConfig;
  /** A pairing client to use instead of the one the config describes (tests, another shell). */
  pairing?: PairingClient;
  /** Agent token for a remote core (never logged, never stored by the station itself). */
  agentToken?: string;
  /** The policy for `remote-with-offline-fallback`, assembled by the application (src/api/pairing-policy.ts). */
  offlinePolicy?: OfflinePolicy;
  /** How to ask a remote core whether it answers (the status then follows it every 2 s; pairing-reachability.ts). */
  pairingHealth?: ReachabilityCheckFactory;
  /** Run a simulated line instead of the configured fixtures. */
  simulate?: Omit<SimulatedLineOptions, 'dataDir'>;
  operator?: string;
  /** Stop starting devices after this many (the CLI's --count). */
  maxDevices?: number;
  /** Settle pending records at start (default true). */
  recoverOnStart?: boolean;
  /**
   * On a fault of the station itself (storage, pairing core unreachable, token refused): pause the
   * line and retry (default), or interrupt at once (one-shot commands such as `station recover`).
   */
  waitOnFault?: boolean;
  /** Retry backoff while paused: first wait and ceiling (default 1 s doubling to 10 s). */
  retry?: { firstMs?: number; maxMs?: number };
  /** Told of every pause, failed retry, resume and stop while paused (the CLI prints them; the log then keeps them at info). */
  onLine?: (change: LineChange, pause: LinePause) => void;
  clientOpts?: DeviceClientOptions;
  logger?: Logger;
  /** Keep each FAIL on its fixture until acknowledged (the UI; a headless run never waits). */
  holdFailures?: boolean;
}

/** What reconfigure() takes: the new settings, and what the application derives from them. */
export interface StationReconfiguration {
  config: StationConfig;
  agentToken?: string;
  /** The simulated line to run, or undefined for the configured fixtures. */
  simulate?: Omit<SimulatedLineOptions, 'dataDir'>;
}

/** Settings the pairing client is built from (the embedded realm too: its namespace and broker). */
function pairingSettingsChanged(a: StationConfig, b: StationConfig): boolean {
  const parts = (c: StationConfig) => JSON.stringify([c.pairing.mode, c.pairing.url, c.realm, c.brokerUrl, c.deviceIdRule]);
  return parts(a) !== parts(b);
}

export interface StationRunSummary {
  done: number;
  passed: number;
  failed: number;
  failuresByCode: Record<string, number>;
  /** Passed devices that finished a pending secret (after a crash or an unplug). */
  resumed: number;
  devicesPerHour: number;
  elapsedMs: number;
  /** Mean per device: the station's own time (total minus the waits), and the waits for the device, the pairing core and durable commits. */
  meanStationMs: number;
  meanDeviceMs: number;
  meanPairingMs: number;
  meanCommitMs: number;
  recovery?: Pick<RecoveryReport, 'completed' | 'discarded' | 'failed' | 'kept'>;
  /** Times the line paused for a station fault, and for how long in all. */
  pauses: number;
  pausedMs: number;
  /** The pause in force when the run ended (stopped while paused). */
  linePause?: LinePause;
  /** Devices registered offline during the run (`remote-with-offline-fallback`): they wait for `imprint sync`. */
  offline: number;
  /** Devices still parked for the core when the run ended (`deferred`): nothing was written to them. */
  parked: number;
}

/** Listen by type ('fixture', 'counters', 'status', 'audit') or to everything ('event'). */
type StationEvents = Record<StationEvent['type'] | 'event', [StationEvent]>;

export class Station extends EventEmitter<StationEvents> {
  readonly dataDir: string;
  readonly db: StationDb;
  readonly vault: SecretVault;
  readonly audit: AuditTrail;
  /** What the UI and QA read from the trail, and the station's own events (the transports use this, not `audit`). */
  readonly records: StationRecords;
  // What the settings decide, replaced together by reconfigure() while the databases stay open.
  #config!: StationConfig;
  #pairing!: PairingClient;
  private ownsPairing = false;
  private opts: StationOptions;
  private readonly log: Logger;
  private workflow!: ProvisioningWorkflow;
  private pairingStatus!: PairingStatus;
  private unsubscribeOffline?: () => void;
  private reachability?: ReachabilityWatch;
  private reconfiguring?: Promise<void>;
  private parkedAtStop = 0;
  private runners: FixtureRunner[] = [];
  private line?: SimulatedLine;
  private sources: DeviceSource[] = [];
  private scannerClosers: (() => Promise<void>)[] = [];
  private abort?: AbortController;
  private stopping?: Promise<void>;
  private loops?: Promise<void>;
  private operator?: OperatorSession;
  private startedAt?: number;
  private claimed = 0;
  private stats = { done: 0, passed: 0, failed: 0, resumed: 0, stationMs: 0, deviceMs: 0, pairingMs: 0, commitMs: 0 };
  private failuresByCode: Record<string, number> = {};
  private lastRecovery?: RecoveryReport;
  private unsubscribeAudit: () => void;
  private gate!: LineGate;
  private pauses = { count: 0, ms: 0, last: undefined as LinePause | undefined, recorded: false };
  /** Counters and recent failures from the trail (survive restarts and settings changes). */
  private readonly history: TrailCounters;
  private postPass!: PostPassActions;
  /**
   * The workflow's appends, several devices to a trail commit (audit-batcher.ts). Failures are not
   * logged here: a station fault is told once, by the line gate.
   */
  private readonly auditBatcher: AuditBatcher;

  private constructor(
    opts: StationOptions,
    parts: { config: StationConfig; db: StationDb; vault: SecretVault; audit: AuditTrail; pairing: PairingClient; owns: boolean },
  ) {
    super();
    this.opts = opts;
    this.dataDir = opts.dataDir;
    this.db = parts.db;
    this.vault = parts.vault;
    this.audit = parts.audit;
    this.records = new StationRecords(parts.audit, () => this.config.stationId);
    this.auditBatcher = new AuditBatcher(
      { append: (event: AuditEventInput) => this.audit.append(event) },
      { windowMs: AUDIT_BATCH_WINDOW_MS, devicesInProgress: () => this.workflow.running },
    );
    this.log = (opts.logger ?? silentLogger).child({ component: 'station', station: parts.config.stationId });
    if (opts.operator) this.operator = { name: opts.operator, role: 'operator', signedInAt: new Date().toISOString() };
    this.assemble(parts.config, parts.pairing, parts.owns);
    this.history = new TrailCounters(parts.audit);
    this.unsubscribeAudit = parts.audit.onAppend((event: AuditEvent) => {
      this.publish({ type: 'audit', event });
      // A device's counts are published when its result is in (count()); a new shift or batch now.
      if (this.history.take(event) && event.step !== 'record') this.publish({ type: 'counters', counters: this.counters() });
    });
  }

  get config(): StationConfig {
    return this.#config;
  }

  get pairing(): PairingClient {
    return this.#pairing;
  }

  get simulated(): boolean {
    return this.opts.simulate !== undefined;
  }

  /** The parts the settings decide: the pairing route, the line gate, the workflow, the post-PASS actions. */
  private assemble(config: StationConfig, pairing: PairingClient, owns: boolean): void {
    // A client kept across a reconfiguration keeps what is known of it; a new one is asked at once (checkPairing).
    const known = this.#pairing === pairing ? this.pairingStatus : undefined;
    const offline = isOfflineAware(pairing) ? pairing.offlineState() : undefined;
    this.#config = config;
    this.#pairing = pairing;
    this.ownsPairing = owns;
    this.pairingStatus = {
      mode: pairing.kind === 'embedded' ? 'embedded' : config.pairing.mode,
      url: pairing.url,
      realm: config.realm,
      reachable: offline?.reachable ?? known?.reachable ?? true,
      unreachableReason: known?.unreachableReason,
      offline: offline?.offline ?? false,
    };
    this.gate = new LineGate({
      wait: this.opts.waitOnFault ?? true,
      firstRetryMs: this.opts.retry?.firstMs,
      maxRetryMs: this.opts.retry?.maxMs,
      onChange: (change, pause) => this.lineChanged(change, pause),
      parkOnPairing: config.pairing.mode === 'deferred',
    });
    const route: PairingRoute = { client: pairing, realm: config.realm };
    this.workflow = new ProvisioningWorkflow({
      stationId: config.stationId,
      pairing: route,
      line: this.gate,
      vault: this.vault,
      db: this.db,
      audit: this.auditSink(),
      deviceIdRule: config.deviceIdRule,
      parseLabel: (text) => parseLabel(text),
      pairingUrl: config.pairingUrl ?? pairing.url ?? DEFAULT_PAIRING_URL,
      brokerUrl: config.brokerUrl,
    });
    // Offline fallback (issue 6): offline registrations carry operator and batch; the status follows it.
    this.unsubscribeOffline?.();
    this.unsubscribeOffline = undefined;
    if (isOfflineAware(pairing)) {
      pairing.setContext(() => ({ operator: this.operator?.name, batchId: this.audit.currentBatch()?.id }));
      this.unsubscribeOffline = pairing.onOfflineChange((s) => {
        this.pairingStatus.offline = s.offline;
        this.pairingStatus.reachable = s.reachable;
        this.publishStatus();
      });
    }
    this.postPass = new PostPassActions(config, (e) => this.audit.append(e), this.log);
    this.reachability?.stop();
    this.reachability = undefined;
    if (pairing.kind === 'remote' && pairing.url && this.opts.pairingHealth) {
      this.reachability = new ReachabilityWatch({
        check: this.opts.pairingHealth(pairing.url),
        onResult: (r) => this.reachabilityChanged(r),
      });
    }
  }

  /**
   * Ask the remote core now whether it answers (the status follows, and is asked again every 2 s
   * after); embedded, or with no check assembled: the status as it is.
   */
  async checkPairing(): Promise<PairingStatus> {
    await this.reachability?.checkNow();
    return { ...this.pairingStatus };
  }

  private reachabilityChanged(r: Reachability): void {
    const s = this.pairingStatus;
    if (s.reachable === r.reachable && s.unreachableReason === r.reason) return;
    const back = r.reachable && !s.reachable;
    s.reachable = r.reachable;
    s.unreachableReason = r.reachable ? undefined : r.reason;
    // A line paused for an unreachable core retries as soon as the core answers again.
    if (back && this.gate.pause?.fault.code === 'PAIRING_CORE_UNREACHABLE') this.gate.retryNow();
    this.publishStatus();
  }

  /** Open the station's databases and pairing core (creating the embedded realm on first run). */
  static async open(opts: StationOptions): Promise<Station> {
    ensurePrivateDir(opts.dataDir, opts.logger);
    const config = opts.config ?? loadStationConfig(stationConfigPath(opts.dataDir));
    const db = StationDb.open(join(opts.dataDir, 'station.db'));
    let audit: AuditTrail | undefined;
    try {
      const vault = SecretVault.open({ keyFile: join(opts.dataDir, 'station.key'), db });
      // A caller that shows the line's pauses (onLine) hears of failed commits from the gate, once.
      const auditLog = opts.onLine ? opts.logger?.child({ component: 'audit' }, { level: 'fatal' }) : opts.logger;
      const auditFile = join(opts.dataDir, 'audit.db');
      audit = await naming(auditFile, async () =>
        AuditTrail.open({ file: auditFile, stationId: config.stationId, logger: auditLog }),
      );
      const pairing = opts.pairing
        ? { client: opts.pairing, owns: false }
        : {
            client: await naming(join(opts.dataDir, 'pairing.sqlite'), () =>
              openPairing({ dataDir: opts.dataDir, config, agentToken: opts.agentToken, offlinePolicy: opts.offlinePolicy }),
            ),
            owns: true,
          };
      const station = new Station(opts, { config, db, vault, audit, pairing: pairing.client, owns: pairing.owns });
      // The status says "reachable" only once the core has answered.
      await station.checkPairing();
      return station;
    } catch (e) {
      audit?.close();
      db.close();
      throw e;
    }
  }

  /**
   * New settings on the running station, its databases (station.db, the vault, the audit trail)
   * and counters kept: the pairing core is reopened only when its settings or the agent token
   * changed, and opened before anything else changes, so a core that cannot be opened leaves the
   * old settings running untouched. The line is stopped (devices in progress finish), rebuilt
   * and, when it was running, started again. The station id names the trail: changing it needs
   * a reopen (refused here with BAD_CONFIG).
   */
  reconfigure(next: StationReconfiguration): Promise<void> {
    const run = (this.reconfiguring ?? Promise.resolve()).then(() => this.reconfigureNow(next));
    this.reconfiguring = run.catch(() => {});
    return run;
  }

  private async reconfigureNow(next: StationReconfiguration): Promise<void> {
    const { config } = next;
    if (config.stationId !== this.config.stationId)
      throw new StationError('BAD_CONFIG', 'the station id changes only by reopening the station');
    const agentToken = config.pairing.mode === 'embedded' ? undefined : next.agentToken;
    // A client handed in by the caller (tests, another shell) stays whatever the settings say.
    const keepPairing =
      this.opts.pairing !== undefined ||
      (!pairingSettingsChanged(this.config, config) &&
        agentToken === (this.config.pairing.mode === 'embedded' ? undefined : this.opts.agentToken));
    let pairing = { client: this.pairing, owns: this.ownsPairing };
    if (!keepPairing) {
      pairing = {
        client: await naming(join(this.dataDir, 'pairing.sqlite'), () =>
          openPairing({ dataDir: this.dataDir, config, agentToken, offlinePolicy: this.opts.offlinePolicy }),
        ),
        owns: true,
      };
    }
    const wasRunning = this.abort !== undefined;
    await this.stop();
    const old = { client: this.pairing, owns: this.ownsPairing };
    this.opts = { ...this.opts, config, agentToken, simulate: next.simulate };
    this.assemble(config, pairing.client, pairing.owns);
    if (!keepPairing && old.owns) {
      await old.client
        .close()
        .catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'old pairing client not closed'));
    }
    await this.checkPairing();
    this.log.info({ pairingReopened: !keepPairing, resumed: wasRunning }, 'station reconfigured');
    if (wasRunning) await this.start();
    this.publishStatus();
  }

  // ── what the UI sees ─────────────────────────────────────────────────────────────────────

  status(): StationStatus {
    return {
      stationId: this.config.stationId,
      simulated: this.simulated,
      running: this.abort !== undefined,
      linePause: this.currentPause(),
      operator: this.operator,
      batch: this.audit.currentBatch(),
      pairing: { ...this.pairingStatus, ...this.offlineCounts() },
      fixtures: this.fixtures(),
      counters: this.counters(),
      recentFailures: this.history.recentFailures(),
      line: {
        source: !this.simulated ? 'configured' : this.config.fixtures.length > 0 ? 'simulated-option' : 'simulated-no-fixtures',
        configuredFixtures: this.config.fixtures.length,
      },
      labelPrinter: this.config.labelPrinter !== undefined,
      startRequires: [
        ...(this.operator ? [] : (['operator'] as const)),
        ...(this.audit.currentBatch() || this.config.allowStartWithoutBatch ? [] : (['batch'] as const)),
      ],
    };
  }

  /** The line's fixtures; while stopped, the ones a start would run (step idle). */
  fixtures(): FixtureState[] {
    if (this.runners.length > 0) return this.runners.map((r) => r.state);
    const idle = { step: 'idle' as const };
    if (this.opts.simulate) {
      return Array.from({ length: this.opts.simulate.fixtures }, (_, i) => {
        const id = simulatedFixtureId(i);
        return { id, label: id, simulated: true, ...idle };
      });
    }
    return this.config.fixtures.map((f) => ({
      id: f.id,
      label: f.id,
      simulated: false,
      devicePort: f.devicePort,
      scannerPort: f.scannerPort,
      ...idle,
    }));
  }

  /** Devices parked for the core (`deferred`) and registered offline since the station opened. */
  offlineCounts(): { parked: number; registeredOffline: number } {
    const parked = this.gate.parking ? this.runners.filter((r) => r.state.step === 'register').length : 0;
    return { parked, registeredOffline: isOfflineAware(this.pairing) ? this.pairing.registeredOffline() : 0 };
  }

  /** The shift's and the open batch's counts, from the audit trail (trail-counters.ts). */
  counters(): ShiftCounters {
    return this.history.counters();
  }

  /** Lets a fixture holding a FAIL take its next device; audited with who acknowledged it. */
  async acknowledgeFailure(fixtureId: string): Promise<void> {
    const runner = this.runners.find((r) => r.id === fixtureId);
    const held = runner?.state.heldFailure;
    if (!runner || !held) throw new StationError('NOTHING_TO_ACKNOWLEDGE', `fixture ${fixtureId}`);
    await this.records.record({
      operator: this.operator?.name,
      fixture: fixtureId,
      deviceId: held.deviceId,
      hardwareSerial: held.hardwareSerial,
      step: 'fail-acknowledged',
      outcome: 'info',
      errorCode: held.failure.code,
    });
    runner.acknowledge();
  }

  /**
   * The label of the last PASS (of the fixture, when named) again, from the trail: only a device
   * that passed ever gets a label, also after a restart. Returns the device whose label was sent.
   */
  async reprintLabel(fixtureId?: string): Promise<{ deviceId?: string; hardwareSerial?: string; fixture?: string }> {
    const last = this.lastPass(fixtureId);
    if (!last) throw new StationError('NO_LABEL_TO_REPRINT', fixtureId ? `fixture ${fixtureId}` : undefined);
    const batch = last.batchId ? this.audit.getBatch(last.batchId) : undefined;
    await this.postPass.reprint({
      station: this.config.stationId,
      fixture: last.fixture ?? '',
      operator: this.operator?.name,
      batchId: last.batchId,
      workOrder: batch?.workOrder,
      deviceId: last.deviceId,
      hardwareSerial: last.hardwareSerial,
    });
    return { deviceId: last.deviceId, hardwareSerial: last.hardwareSerial, fixture: last.fixture };
  }

  /** The newest PASS record (of a fixture), paging back through the trail. */
  private lastPass(fixtureId?: string): AuditEvent | undefined {
    const pageSize = 500;
    let beforeSeq: number | undefined;
    for (;;) {
      const page = this.audit.query({ step: 'record', outcome: 'ok', limit: pageSize, beforeSeq });
      const hit = page.find((e) => fixtureId === undefined || e.fixture === fixtureId);
      if (hit || page.length < pageSize) return hit;
      beforeSeq = page[page.length - 1].seq;
    }
  }

  /** A held FAIL released by taking its device out of the fixture: recorded like an acknowledgement. */
  private async heldFailureRemoved(fixtureId: string, held: HeldFailure): Promise<void> {
    await this.records
      .record({
        operator: this.operator?.name,
        fixture: fixtureId,
        deviceId: held.deviceId,
        hardwareSerial: held.hardwareSerial,
        step: 'fail-released',
        outcome: 'info',
        errorCode: held.failure.code,
        message: 'the failed device was taken out of its fixture',
        data: { by: 'device-removed' },
      })
      .catch((e: unknown) => this.log.error({ fixture: fixtureId, err: (e as Error).message }, 'FAIL release not recorded'));
  }

  /** Live events; returns an unsubscribe function. */
  subscribe(listener: (event: StationEvent) => void): () => void {
    this.on('event', listener);
    return () => this.off('event', listener);
  }

  setOperator(session: OperatorSession | undefined): void {
    this.operator = session;
    this.publishStatus();
  }

  get currentOperator(): OperatorSession | undefined {
    return this.operator;
  }

  async openBatch(workOrder: string): Promise<Batch> {
    const operator = this.operator?.name;
    if (!operator) throw new StationError('NOT_SIGNED_IN', 'a batch is opened by someone signed in');
    // Devices' events held for a shared commit go first: the trail keeps the order they happened in.
    this.auditBatcher.flushNow();
    const batch = await this.audit.openBatch({ workOrder, operator });
    this.publishStatus();
    return batch;
  }

  async closeBatch(): Promise<Batch> {
    const current = this.audit.currentBatch();
    if (!current) throw new AuditError('AUDIT_NO_OPEN_BATCH');
    // The signed summary says `offline` when any of its devices was registered offline.
    const offline = isOfflineAware(this.pairing) && this.pairing.registeredOffline({ batchId: current.id }) > 0;
    this.auditBatcher.flushNow();
    const batch = await this.audit.closeBatch(current.id, { offline });
    this.publishStatus();
    return batch;
  }

  /** A scan (keyboard wedge or typed): to the named fixture, or the first one waiting for a scan. */
  async submitScan(text: string, fixtureId?: string): Promise<void> {
    const candidates = fixtureId ? this.runners.filter((r) => r.id === fixtureId) : this.runners.filter((r) => r.waitingForScan);
    if (fixtureId && candidates.length === 0) throw new StationError('UNKNOWN_FIXTURE', fixtureId);
    for (const r of candidates) if (r.offerScan(text)) return;
    throw new StationError('NO_FIXTURE_WAITING');
  }

  // ── running ──────────────────────────────────────────────────────────────────────────────

  /** Settle pending write-ahead records (asks each record's device for its digest). */
  async recover(): Promise<RecoveryReport> {
    const report = await recoverPending({
      stationId: this.config.stationId,
      vault: this.vault,
      db: this.db,
      audit: this.auditSink(),
      workflow: this.workflow,
      locate: this.locator(),
      pairing: this.pairing,
      realm: this.config.realm,
      operator: this.operator?.name,
      batchId: this.audit.currentBatch()?.id,
      line: this.gate,
    });
    this.lastRecovery = report;
    for (const item of report.items) {
      this.log.info(
        { deviceId: item.deviceId, serial: item.hardwareSerial, outcome: item.outcome, code: item.code },
        item.detail,
      );
    }
    return report;
  }

  /** What is still pending: records whose device never confirmed the write, and confirmed devices not finished. */
  pending(): { records: VaultRow[]; unfinished: RegistryRow[] } {
    return { records: this.vault.pending(), unfinished: this.db.devicesInState('written') };
  }

  /**
   * An operator's decision on what recovery could not settle (`station recover --discard` /
   * `--set-aside`): records whose device never confirmed the write are discarded, confirmed
   * devices that were never finished are set aside. Each is audited with the operator's name.
   */
  async decide(
    decision: 'discard' | 'set-aside',
    select: { all?: boolean; ids?: string[] },
    operator: string,
  ): Promise<{ settled: { id: string; deviceId: string; hardwareSerial: string; detail: string }[]; unmatched: string[] }> {
    const ctx: DecisionContext = {
      stationId: this.config.stationId,
      vault: this.vault,
      db: this.db,
      audit: this.auditSink(),
      pairing: this.pairing,
      realm: this.config.realm,
      line: this.gate,
      batchId: this.audit.currentBatch()?.id,
    };
    const by = { operator, reason: `decided by ${operator}`, automatic: false };
    const wanted = new Set(select.ids ?? []);
    const matched = new Set<string>();
    const picks = <T extends { deviceId: string; hardwareSerial: string }>(rows: T[], key: (r: T) => string): T[] =>
      rows.filter((r) => {
        const hit = [key(r), r.deviceId, r.hardwareSerial].find((k) => wanted.has(k));
        if (hit) matched.add(hit);
        return select.all === true || hit !== undefined;
      });
    const settled: { id: string; deviceId: string; hardwareSerial: string; detail: string }[] = [];
    if (decision === 'discard') {
      for (const r of picks(this.vault.pending(), (r) => String(r.id))) {
        const d = await discardPending(ctx, r, by);
        settled.push({ id: String(r.id), deviceId: r.deviceId, hardwareSerial: r.hardwareSerial, detail: d.detail });
      }
    } else {
      for (const r of picks(this.db.devicesInState('written'), (r) => r.deviceId)) {
        const d = await setAsideDevice(ctx, r, by);
        settled.push({ id: r.deviceId, deviceId: r.deviceId, hardwareSerial: r.hardwareSerial, detail: d.detail });
      }
    }
    return { settled, unmatched: [...wanted].filter((w) => !matched.has(w)) };
  }

  async start(): Promise<void> {
    if (this.abort) {
      this.gate.retryNow(); // Start line while paused: retry at once
      return;
    }
    this.gate.restart();
    let recovered: RecoveryItem[] = [];
    if (this.opts.recoverOnStart !== false && (this.vault.pending().length > 0 || this.db.devicesInState('written').length > 0)) {
      recovered = (await this.recover()).items.filter((i) => i.outcome === 'completed' || i.outcome === 'failed');
    }
    const abort = new AbortController();
    this.abort = abort;
    this.startedAt ??= Date.now();
    for (const item of recovered) {
      this.claimed++;
      this.countRecovered(item);
    }
    if (this.opts.maxDevices !== undefined && this.stats.done >= this.opts.maxDevices) abort.abort();
    await this.buildFixtures();
    // Devices recovery just completed or failed are done (they count towards --count) and are
    // still in their fixtures: not run twice.
    for (const item of recovered) {
      const i = this.runners.findIndex((r) => r.id === item.fixture);
      if (i >= 0) this.sources[i]?.markHandled?.(item.hardwareSerial);
    }
    // While the line is paused, no fixture takes a new device.
    this.loops = Promise.all(this.runners.map((r) => r.run(abort.signal))).then(() => {});
    this.publishStatus();
  }

  /** Resolves when every fixture loop has ended (budget spent, or stopped). */
  async whenIdle(): Promise<void> {
    await this.loops;
  }

  /** Stop taking new devices; devices in progress finish first (bounded by device timeouts). */
  stop(): Promise<void> {
    // One stop at a time: a signal handler and the normal end of a run may both ask.
    this.stopping ??= this.stopNow().finally(() => {
      this.stopping = undefined;
    });
    return this.stopping;
  }

  private async stopNow(): Promise<void> {
    const abort = this.abort;
    if (!abort) return;
    abort.abort();
    // Steps waiting in a pause end now (their devices are not counted; pending records stay).
    this.gate.stop();
    await this.loops;
    for (const close of this.scannerClosers) await close().catch(() => {});
    for (const s of this.sources) await s.close().catch(() => {});
    await this.line?.close();
    this.scannerClosers = [];
    this.sources = [];
    this.line = undefined;
    this.abort = undefined;
    this.loops = undefined;
    this.publishStatus();
  }

  async close(): Promise<void> {
    await this.reconfiguring;
    await this.stop();
    this.unsubscribeAudit();
    this.unsubscribeOffline?.();
    this.reachability?.stop();
    this.auditBatcher.flushNow();
    this.audit.close();
    this.db.close();
    if (this.ownsPairing) await this.pairing.close();
  }

  /** The workflow's hand-offs to the trail so far (one trail commit each, at most), and the events they carried. */
  auditHandOffs(): { flushes: number; events: number } {
    return this.auditBatcher.stats();
  }

  summary(): StationRunSummary {
    const s = this.stats;
    const n = Math.max(s.done, 1);
    const elapsedMs = this.startedAt ? Date.now() - this.startedAt : 0;
    return {
      done: s.done,
      passed: s.passed,
      failed: s.failed,
      failuresByCode: { ...this.failuresByCode },
      resumed: s.resumed,
      devicesPerHour: s.done === 0 ? 0 : Math.round(s.done / Math.max(elapsedMs / 3_600_000, 1e-9)),
      elapsedMs,
      meanStationMs: s.stationMs / n,
      meanDeviceMs: s.deviceMs / n,
      meanPairingMs: s.pairingMs / n,
      meanCommitMs: s.commitMs / n,
      recovery: this.lastRecovery && {
        completed: this.lastRecovery.completed,
        discarded: this.lastRecovery.discarded,
        failed: this.lastRecovery.failed,
        kept: this.lastRecovery.kept,
      },
      pauses: this.pauses.count,
      pausedMs: this.pauses.ms,
      linePause: this.currentPause() ?? this.pauses.last,
      offline: this.offlineCounts().registeredOffline,
      parked: this.offlineCounts().parked || this.parkedAtStop,
    };
  }

  // ── internals ────────────────────────────────────────────────────────────────────────────

  private async buildFixtures(): Promise<void> {
    if (this.opts.simulate) {
      this.line = new SimulatedLine({ ...this.opts.simulate, dataDir: this.dataDir, clientOpts: this.opts.clientOpts });
      this.sources = this.line.sources;
      this.runners = this.sources.map((source, i) => this.runner(simulatedFixtureId(i), source, false));
      return;
    }
    this.runners = [];
    for (const f of this.config.fixtures) {
      const needsScan = f.scannerPort !== undefined || this.config.requireScan === true;
      const source = new PortDeviceSource({ fixture: f, scanTriggered: needsScan, logger: this.log });
      this.sources.push(source);
      const runner = this.runner(f.id, source, needsScan);
      this.runners.push(runner);
      if (f.scannerPort) await this.attachScanner(f.scannerPort, runner);
    }
  }

  private async attachScanner(path: string, runner: FixtureRunner): Promise<void> {
    try {
      const { reader, port } = await openScannerReader(path, { logger: this.log, label: `${runner.id}:scanner` });
      reader.on('scan', (read) => {
        // A work order from the scanner port opens a batch, as it does from the scan field.
        const workOrder = workOrderOf(read.text);
        if (workOrder !== undefined) {
          this.openBatch(workOrder).catch((e: unknown) =>
            this.log.warn({ fixture: runner.id, err: (e as Error).message }, 'work order scan refused'),
          );
          return;
        }
        if (!runner.offerScan(`${read.symbology ?? ''}${read.text}`)) {
          this.log.warn({ fixture: runner.id }, 'scan ignored: the fixture is busy');
        }
      });
      this.scannerClosers.push(
        () =>
          new Promise<void>((resolve) => {
            if (!port.isOpen) return resolve();
            port.close(() => resolve());
          }),
      );
    } catch (e) {
      // The fixture still works with the keyboard-wedge scanner.
      this.log.warn({ fixture: runner.id, err: (e as Error).message }, 'scanner port could not be opened');
    }
  }

  private runner(id: string, source: DeviceSource, needsScan: boolean): FixtureRunner {
    const runner: FixtureRunner = new FixtureRunner({
      id,
      source,
      workflow: this.workflow,
      needsScan,
      jobContext: () => ({ operator: this.operator?.name, batchId: this.audit.currentBatch()?.id }),
      claim: () => {
        if (this.opts.maxDevices !== undefined && this.claimed >= this.opts.maxDevices) return false;
        this.claimed++;
        return true;
      },
      lineOpen: (signal) => this.gate.whenOpen(signal),
      onState: (fixture) => this.publish({ type: 'fixture', fixture }),
      onResult: (result) => {
        this.count(result);
        if (result.outcome === 'pass' && this.postPass.configured) this.afterPass(runner, result);
      },
      holdFailures: this.opts.holdFailures,
      onHeldFailureRemoved: (held) => this.heldFailureRemoved(runner.id, held),
    });
    return runner;
  }

  /** Label and hook of a PASS, off the fixture's path: the next device does not wait for them. */
  private afterPass(runner: FixtureRunner, result: ProvisionResult): void {
    const batch = this.audit.currentBatch();
    void this.postPass.run(
      {
        station: this.config.stationId,
        fixture: runner.id,
        operator: this.operator?.name,
        batchId: batch?.id,
        workOrder: batch?.workOrder,
        deviceId: result.deviceId,
        hardwareSerial: result.hardwareSerial,
        secretFingerprint: result.secretFingerprint,
      },
      (r) => runner.annotate(result.deviceId, r),
    );
  }

  private count(result: ProvisionResult): void {
    const s = this.stats;
    s.done++;
    if (result.outcome === 'pass') {
      s.passed++;
      if (result.kind === 'resumed') s.resumed++;
    } else {
      s.failed++;
      const code = result.failure?.code ?? 'UNKNOWN';
      this.failuresByCode[code] = (this.failuresByCode[code] ?? 0) + 1;
    }
    const t = result.timing;
    s.deviceMs += t.deviceMs;
    s.pairingMs += t.pairingMs;
    s.commitMs += t.commitMs;
    s.stationMs += Math.max(0, t.totalMs - t.deviceMs - t.pairingMs - t.commitMs - t.pausedMs);
    this.publish({ type: 'counters', counters: this.counters() });
    // Budget spent: fixtures still waiting for a device stop waiting.
    if (this.opts.maxDevices !== undefined && s.done >= this.opts.maxDevices) this.abort?.abort();
  }

  private countRecovered(item: RecoveryItem): void {
    const s = this.stats;
    s.done++;
    if (item.outcome === 'completed') {
      s.passed++;
      s.resumed++;
    } else {
      s.failed++;
      const code = item.code ?? 'UNKNOWN';
      this.failuresByCode[code] = (this.failuresByCode[code] ?? 0) + 1;
    }
  }

  private locator(): DeviceLocator {
    const simulated = simulatedDeviceLocator(this.dataDir, this.opts.clientOpts);
    const ports = portDeviceLocator(this.config.fixtures, this.log);
    // A simulated record is looked for by its storage file only; records from before station.db
    // migration 2 (simulated unknown) by storage file, then by port.
    return async (record) => {
      const found = await simulated(record);
      if (found || record.simulated) return found ?? SIMULATOR_GONE;
      return ports(record);
    };
  }

  private auditSink(): AuditSink {
    return this.auditBatcher;
  }

  private currentPause(): LinePause | undefined {
    const p = this.gate.pause;
    return p && linePauseInfo(p.fault, p.since, p.retries, p.nextRetryAt);
  }

  /** One pause, told once: the log, the trail (when it can be written), the status, the CLI. */
  private lineChanged(change: LineChange, pause: ActivePause): void {
    const info = linePauseInfo(pause.fault, pause.since, pause.retries, pause.nextRetryAt);
    // Devices parked for the core when the line stops: the run's summary says how many.
    this.parkedAtStop =
      change === 'stopped' && this.config.pairing.mode === 'deferred' && pause.fault.scope === 'pairing'
        ? this.runners.filter((r) => r.state.step === 'register').length
        : 0;
    const at = { code: info.code, detail: info.detail, since: info.since };
    const event = (input: Omit<AuditEventInput, 'station'>) =>
      this.audit.append({
        station: this.config.stationId,
        operator: this.operator?.name,
        batchId: this.audit.currentBatch()?.id,
        ...input,
      });
    if (change === 'paused') {
      this.pauses.count++;
      this.pauses.recorded = false;
      // Told once: as an error in the log, unless the caller shows it to the operator itself.
      this.log[this.opts.onLine ? 'info' : 'error'](at, `line paused: ${info.message} ${info.action}`);
      // Written now if the trail can take it; otherwise the resume event carries the pause.
      event({ step: 'line-pause', outcome: 'fail', errorCode: info.code, message: info.message, data: at }).then(
        () => {
          this.pauses.recorded = true;
        },
        () => {},
      );
    } else if (change === 'retry-failed') {
      this.log.debug({ ...at, retries: info.retries }, 'line still paused');
    } else {
      const ms = Date.now() - pause.since.getTime();
      this.pauses.ms += ms;
      this.pauses.last = change === 'stopped' ? info : undefined;
      const how = change === 'resumed' ? 'resumed' : 'stopped while paused';
      this.log[this.opts.onLine ? 'info' : 'warn'](
        { ...at, retries: info.retries, pausedMs: ms },
        `line ${how} after ${(ms / 1000).toFixed(1)} s`,
      );
      event({
        step: change === 'resumed' ? 'line-resume' : 'line-stop',
        outcome: 'info',
        message: `line ${how} after ${(ms / 1000).toFixed(1)} s (${info.code})`,
        data: { ...at, retries: info.retries, pausedMs: ms, pauseRecorded: this.pauses.recorded },
      }).catch((e: unknown) => this.log.error({ err: (e as Error).message }, 'line event not written'));
    }
    // The status bar's "pairing reachable" follows a pause for an unreachable core: asked again at
    // once when the station watches the core (the watch alone sets it then), else taken from the pause.
    if (info.code === 'PAIRING_CORE_UNREACHABLE' && !this.pairingStatus.offline) {
      if (this.reachability) {
        if (change === 'paused') void this.reachability.checkNow();
      } else this.pairingStatus.reachable = change === 'resumed' || change === 'stopped';
    }
    this.opts.onLine?.(change, info);
    this.publishStatus();
  }

  private publishStatus(): void {
    this.publish({ type: 'status', status: this.status() });
  }

  private publish(event: StationEvent): void {
    this.emit(event.type, event);
    this.emit('event', event);
  }
}
