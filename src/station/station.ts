// The station: its databases (station.db, audit.db), the pairing core, the fixtures, and what the
// UI and the CLI see of it (status snapshot, live events, start/stop, scans, counters).
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type {
  FixtureState,
  OperatorSession,
  PairingStatus,
  ShiftCounters,
  StationEvent,
  StationStatus,
} from '../api/station-api.ts';
import { AuditTrail } from '../audit/audit-trail.ts';
import type { AuditEvent, AuditEventInput, Batch } from '../audit/audit-types.ts';
import { ImprintError } from '../common/errors.ts';
import { type Logger, silentLogger } from '../common/logger.ts';
import type { PairingClient } from '../pairing/pairing-api.ts';
import type { DeviceClientOptions } from '../serial/device-client.ts';
import { parseLabel } from '../serial/label-parser.ts';
import { openScannerReader } from '../serial/scanner-reader.ts';
import { isOfflineAware } from '../sync/offline-policy.ts';
import { type DeviceSource, FixtureRunner } from './fixture-runner.ts';
import { openPairing } from './pairing-setup.ts';
import { PortDeviceSource, portDeviceLocator } from './port-device-source.ts';
import { type AuditSink, type PairingRoute, ProvisioningWorkflow, type ProvisionResult } from './provisioning-workflow.ts';
import { type DeviceLocator, type RecoveryItem, type RecoveryReport, recoverPending } from './recovery.ts';
import { SecretVault } from './secret-vault.ts';
import { SimulatedLine, type SimulatedLineOptions, simulatedDeviceLocator, simulatedFixtureId } from './simulated-line.ts';
import { DEFAULT_PAIRING_URL, loadStationConfig, type StationConfig, stationConfigPath } from './station-config.ts';
import { StationDb } from './station-db.ts';

export interface StationOptions {
  dataDir: string;
  /** Default: `<data>/station.json` (or built-in defaults when absent). */
  config?: StationConfig;
  /** A pairing client to use instead of the one the config describes (tests, another shell). */
  pairing?: PairingClient;
  /** Agent token for a remote core (never logged, never stored by the station itself). */
  agentToken?: string;
  /** Run a simulated line instead of the configured fixtures. */
  simulate?: Omit<SimulatedLineOptions, 'dataDir'>;
  operator?: string;
  /** Stop starting devices after this many (the CLI's --count). */
  maxDevices?: number;
  /** Settle pending records at start (default true). */
  recoverOnStart?: boolean;
  clientOpts?: DeviceClientOptions;
  logger?: Logger;
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
}

/** Listen by type ('fixture', 'counters', 'status', 'audit') or to everything ('event'). */
type StationEvents = Record<StationEvent['type'] | 'event', [StationEvent]>;

export class Station extends EventEmitter<StationEvents> {
  readonly dataDir: string;
  readonly config: StationConfig;
  readonly db: StationDb;
  readonly vault: SecretVault;
  readonly audit: AuditTrail;
  readonly pairing: PairingClient;
  readonly simulated: boolean;
  private readonly ownsPairing: boolean;
  private readonly opts: StationOptions;
  private readonly log: Logger;
  private readonly workflow: ProvisioningWorkflow;
  private readonly pairingStatus: PairingStatus;
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

  private constructor(
    opts: StationOptions,
    parts: { config: StationConfig; db: StationDb; vault: SecretVault; audit: AuditTrail; pairing: PairingClient; owns: boolean },
  ) {
    super();
    this.opts = opts;
    this.dataDir = opts.dataDir;
    this.config = parts.config;
    this.db = parts.db;
    this.vault = parts.vault;
    this.audit = parts.audit;
    this.pairing = parts.pairing;
    this.ownsPairing = parts.owns;
    this.simulated = opts.simulate !== undefined;
    this.log = (opts.logger ?? silentLogger).child({ component: 'station', station: parts.config.stationId });
    if (opts.operator) this.operator = { name: opts.operator, role: 'operator', signedInAt: new Date().toISOString() };
    this.pairingStatus = {
      mode: parts.pairing.kind === 'embedded' ? 'embedded' : parts.config.pairing.mode,
      url: parts.pairing.url,
      realm: parts.config.realm,
      reachable: true,
      offline: false,
    };
    const route: PairingRoute = {
      client: parts.pairing,
      realm: parts.config.realm,
      // Seam for the offline fallback (issue 6): answer an embedded route under an offline batch.
      onUnreachable: async () => {
        this.setReachable(false);
        return undefined;
      },
    };
    this.workflow = new ProvisioningWorkflow({
      stationId: parts.config.stationId,
      pairing: route,
      vault: parts.vault,
      db: parts.db,
      audit: this.auditSink(),
      deviceIdRule: parts.config.deviceIdRule,
      parseLabel: (text) => parseLabel(text),
      pairingUrl: parts.config.pairingUrl ?? parts.pairing.url ?? DEFAULT_PAIRING_URL,
      brokerUrl: parts.config.brokerUrl,
    });
    // Offline fallback (issue 6): offline registrations carry operator and batch; the status follows it.
    if (isOfflineAware(parts.pairing)) {
      parts.pairing.setContext(() => ({ operator: this.operator?.name, batchId: this.audit.currentBatch()?.id }));
      parts.pairing.onOfflineChange((s) => {
        this.pairingStatus.offline = s.offline;
        this.pairingStatus.reachable = s.reachable;
        this.publishStatus();
      });
    }
    this.unsubscribeAudit = parts.audit.onAppend((event: AuditEvent) => this.publish({ type: 'audit', event }));
  }

  /** Open the station's databases and pairing core (creating the embedded realm on first run). */
  static async open(opts: StationOptions): Promise<Station> {
    const config = opts.config ?? loadStationConfig(stationConfigPath(opts.dataDir));
    const db = StationDb.open(join(opts.dataDir, 'station.db'));
    let audit: AuditTrail | undefined;
    try {
      const vault = SecretVault.open({ keyFile: join(opts.dataDir, 'station.key'), db });
      audit = AuditTrail.open({ file: join(opts.dataDir, 'audit.db'), stationId: config.stationId, logger: opts.logger });
      const pairing = opts.pairing
        ? { client: opts.pairing, owns: false }
        : { client: await openPairing({ dataDir: opts.dataDir, config, agentToken: opts.agentToken }), owns: true };
      return new Station(opts, { config, db, vault, audit, pairing: pairing.client, owns: pairing.owns });
    } catch (e) {
      audit?.close();
      db.close();
      throw e;
    }
  }

  // ── what the UI sees ─────────────────────────────────────────────────────────────────────

  status(): StationStatus {
    return {
      stationId: this.config.stationId,
      simulated: this.simulated,
      running: this.abort !== undefined,
      operator: this.operator,
      batch: this.audit.currentBatch(),
      pairing: { ...this.pairingStatus },
      fixtures: this.fixtures(),
      counters: this.counters(),
    };
  }

  fixtures(): FixtureState[] {
    return this.runners.map((r) => r.state);
  }

  counters(): ShiftCounters {
    const since = this.startedAt ?? Date.now();
    const hours = Math.max((Date.now() - since) / 3_600_000, 1e-9);
    return {
      done: this.stats.done,
      passed: this.stats.passed,
      failed: this.stats.failed,
      devicesPerHour: this.stats.done === 0 ? 0 : Math.round(this.stats.done / hours),
      since: new Date(since).toISOString(),
    };
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
    if (!operator) throw new ImprintError('NOT_SIGNED_IN', 'Sign in before opening a batch');
    const batch = await this.audit.openBatch({ workOrder, operator });
    this.publishStatus();
    return batch;
  }

  async closeBatch(): Promise<Batch> {
    const current = this.audit.currentBatch();
    if (!current) throw new ImprintError('NO_OPEN_BATCH', 'No batch is open');
    const batch = await this.audit.closeBatch(current.id);
    this.publishStatus();
    return batch;
  }

  /** A scan (keyboard wedge or typed): to the named fixture, or the first one waiting for a scan. */
  async submitScan(text: string, fixtureId?: string): Promise<void> {
    const candidates = fixtureId ? this.runners.filter((r) => r.id === fixtureId) : this.runners.filter((r) => r.waitingForScan);
    if (fixtureId && candidates.length === 0) throw new ImprintError('UNKNOWN_FIXTURE', `No fixture ${fixtureId}`);
    for (const r of candidates) if (r.offerScan(text)) return;
    throw new ImprintError('NO_FIXTURE_WAITING', 'No fixture is waiting for a scan', {
      hint: 'Put the device in a free fixture first, then scan its label',
    });
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
      operator: this.operator?.name,
      batchId: this.audit.currentBatch()?.id,
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

  async start(): Promise<void> {
    if (this.abort) return;
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
    await this.stop();
    this.unsubscribeAudit();
    this.audit.close();
    this.db.close();
    if (this.ownsPairing) await this.pairing.close();
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
      devicesPerHour: this.counters().devicesPerHour,
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
    return new FixtureRunner({
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
      onState: (fixture) => this.publish({ type: 'fixture', fixture }),
      onResult: (result) => this.count(result),
    });
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
    s.stationMs += Math.max(0, t.totalMs - t.deviceMs - t.pairingMs - t.commitMs);
    if (result.outcome === 'pass' && !this.pairingStatus.reachable && !this.pairingStatus.offline) this.setReachable(true);
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

  private setReachable(reachable: boolean): void {
    if (this.pairingStatus.reachable === reachable) return;
    this.pairingStatus.reachable = reachable;
    this.publishStatus();
  }

  private locator(): DeviceLocator {
    const simulated = simulatedDeviceLocator(this.dataDir, this.opts.clientOpts);
    const ports = portDeviceLocator(this.config.fixtures, this.log);
    return async (record) => (await simulated(record)) ?? (await ports(record));
  }

  private auditSink(): AuditSink {
    return {
      append: (event: AuditEventInput) =>
        this.audit.append(event).catch((e: unknown) => {
          this.log.error({ err: (e as Error).message, step: event.step }, 'audit event not written');
          throw e;
        }),
    };
  }

  private publishStatus(): void {
    this.publish({ type: 'status', status: this.status() });
  }

  private publish(event: StationEvent): void {
    this.emit(event.type, event);
    this.emit('event', event);
  }
}
