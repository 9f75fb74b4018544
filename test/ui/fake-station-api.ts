// A throwaway in-memory StationApi for developing the UI without the station. The finished
// product and the e2e tests run on the real station (src/api/station-service.ts).
import type {
  BatchReport,
  FixtureState,
  OperatorSession,
  PortInfo,
  PortTestResult,
  SettingsPatch,
  StationApi,
  StationEvent,
  StationSettings,
  StationStatus,
  SyncStatus,
} from '../../src/api/station-api.ts';
import type { AuditEvent, AuditQuery, Batch, ChainStatus } from '../../src/audit/audit-types.ts';
import { ImprintError } from '../../src/common/errors.ts';

export class FakeStationApi implements StationApi {
  private listeners = new Set<(e: StationEvent) => void>();
  private events: AuditEvent[] = [];
  private batches: Batch[] = [];
  private timer?: NodeJS.Timeout;
  private n = 0;
  status: StationStatus;
  settings: StationSettings = {
    stationId: 'fake-1',
    realm: 'imprint',
    pairing: { mode: 'embedded' },
    deviceIdRule: { kind: 'uuidv5', namespace: 'f79ad91f-c638-4889-ae74-9d001a3b4cf8' },
    fixtures: [],
    simulatedFixtures: 2,
  };

  constructor(private readonly pin = '1234') {
    const fixture = (i: number): FixtureState => ({ id: `sim-${i}`, label: `Fixture ${i}`, simulated: true, step: 'idle' });
    this.status = {
      stationId: 'fake-1',
      simulated: true,
      running: false,
      pairing: { mode: 'embedded', realm: 'imprint', reachable: true, offline: false },
      fixtures: [fixture(1), fixture(2)],
      counters: { done: 0, passed: 0, failed: 0, devicesPerHour: 0, since: new Date().toISOString() },
    };
  }

  private emit(e: StationEvent) {
    for (const l of this.listeners) l(e);
  }
  private audit(input: Omit<AuditEvent, 'seq' | 'ts' | 'prevHash' | 'hash' | 'station'>) {
    const seq = this.events.length + 1;
    const ev: AuditEvent = { ...input, station: 'fake-1', seq, ts: new Date().toISOString(), prevHash: 'x', hash: `h${seq}` };
    this.events.push(ev);
    this.emit({ type: 'audit', event: ev });
  }
  private setFixture(f: FixtureState) {
    this.status.fixtures = this.status.fixtures.map((x) => (x.id === f.id ? f : x));
    this.emit({ type: 'fixture', fixture: f });
  }
  private finish(f: FixtureState, fail?: { code: string; message: string; action: string }) {
    const c = this.status.counters;
    c.done++;
    if (fail) c.failed++;
    else c.passed++;
    c.devicesPerHour = c.done * 60;
    this.setFixture({ ...f, step: 'done', outcome: fail ? 'fail' : 'pass', failure: fail, finishedAt: new Date().toISOString() });
    this.emit({ type: 'counters', counters: { ...c } });
    this.audit({
      operator: this.status.operator?.name,
      batchId: this.status.batch?.id,
      deviceId: f.deviceId,
      hardwareSerial: f.hardwareSerial,
      fixture: f.id,
      step: 'record',
      outcome: fail ? 'fail' : 'ok',
      errorCode: fail?.code,
    });
  }

  async getStatus() {
    return structuredClone(this.status);
  }
  subscribe(l: (e: StationEvent) => void) {
    this.listeners.add(l);
    return () => {
      this.listeners.delete(l);
    };
  }
  async signIn(c: { name?: string; badge?: string; pin?: string }): Promise<OperatorSession> {
    if (c.pin !== undefined && c.pin !== this.pin) throw new ImprintError('ADMIN_PIN_INVALID', 'Wrong admin PIN');
    const name = c.badge?.replace(/^OP:/i, '') ?? c.name ?? 'admin';
    this.status.operator = { name, role: c.pin ? 'admin' : 'operator', signedInAt: new Date().toISOString() };
    this.emit({ type: 'status', status: await this.getStatus() });
    return this.status.operator;
  }
  async signOut() {
    this.status.operator = undefined;
    this.emit({ type: 'status', status: await this.getStatus() });
  }
  async start() {
    this.status.running = true;
    this.emit({ type: 'status', status: await this.getStatus() });
    this.timer = setInterval(() => {
      for (const f of this.status.fixtures) {
        this.n++;
        const serial = `SIM-${String(this.n).padStart(5, '0')}`;
        this.finish({ ...f, deviceId: `dev${this.n}AAAAAAAAAAAAAAAAA`, hardwareSerial: serial });
      }
    }, 1500);
  }
  async stop() {
    clearInterval(this.timer);
    this.status.running = false;
    this.emit({ type: 'status', status: await this.getStatus() });
  }
  async submitScan(text: string) {
    if (/^OP:/i.test(text)) {
      await this.signIn({ badge: text });
      return;
    }
    const f = this.status.fixtures[0];
    this.finish(
      { ...f, hardwareSerial: 'SIM-X', deviceId: text },
      { code: 'LABEL_MISMATCH', message: 'The label does not match the serial.', action: 'Set the device aside.' },
    );
  }
  async openBatch(workOrder: string) {
    const b: Batch = {
      id: `b${this.batches.length + 1}`,
      workOrder,
      operator: this.status.operator?.name ?? '?',
      station: 'fake-1',
      openedAt: new Date().toISOString(),
      offline: false,
    };
    this.batches.push(b);
    this.status.batch = b;
    this.emit({ type: 'status', status: await this.getStatus() });
    return b;
  }
  async closeBatch() {
    const b = this.status.batch;
    if (!b) throw new ImprintError('NO_OPEN_BATCH', 'No batch is open');
    b.closedAt = new Date().toISOString();
    this.status.batch = undefined;
    this.emit({ type: 'status', status: await this.getStatus() });
    return b;
  }
  async listBatches() {
    return this.batches;
  }
  async batchReport(id: string): Promise<BatchReport> {
    const batch = this.batches.find((b) => b.id === id);
    if (!batch) throw new ImprintError('BATCH_NOT_FOUND', 'No such batch');
    return {
      batch,
      summary: { total: 10, passed: 8, failed: 2, failuresByCode: { LABEL_MISMATCH: 2 } },
      throughputPerHour: [
        { hour: '08:00', passed: 4, failed: 1 },
        { hour: '09:00', passed: 4, failed: 1 },
      ],
      failuresByCode: [{ code: 'LABEL_MISMATCH', count: 2 }],
    };
  }
  async queryAudit(q: AuditQuery) {
    return this.events.filter((e) => !q.deviceId || e.deviceId === q.deviceId).reverse();
  }
  async queryAuditPage(q: AuditQuery & { find?: string }) {
    const all = await this.queryAudit(q);
    return { events: all.slice(0, q.limit ?? 100), total: all.length };
  }
  async exportDevices() {
    return 'deviceId,hardwareSerial,outcome\n';
  }
  async acknowledgeFailure(fixtureId: string) {
    const f = this.status.fixtures.find((x) => x.id === fixtureId);
    if (f) this.setFixture({ ...f, heldFailure: undefined });
  }
  async unlockAdmin(pin: string, name?: string) {
    if (pin !== this.pin) throw new ImprintError('ADMIN_PIN_INVALID', 'Wrong admin PIN');
    return { name: name ?? 'admin', until: new Date(Date.now() + 600_000).toISOString() };
  }
  async reprintLabel(): Promise<never> {
    throw new ImprintError('NO_LABEL_TO_REPRINT', 'No device has passed here yet, so there is no label to reprint.');
  }
  async testPrint(): Promise<PortTestResult> {
    return { path: '', ok: false, answered: 'error', detail: 'No label printer is configured' };
  }
  async queryRemoteAuditPage(_q: AuditQuery & { cursor?: string }): Promise<{ events: AuditEvent[]; nextCursor?: string }> {
    return { events: [] };
  }

  async queryRemoteAudit(_q: AuditQuery): Promise<AuditEvent[]> {
    throw new ImprintError('NO_REMOTE', 'No remote pairing core is configured');
  }
  async verifyAudit(): Promise<ChainStatus> {
    return { ok: true, events: this.events.length, lastHash: 'x' };
  }
  async exportAudit() {
    return `seq,step\n${this.events.map((e) => `${e.seq},${e.step}`).join('\n')}\n`;
  }
  async getSettings() {
    return structuredClone(this.settings);
  }
  async updateSettings(patch: SettingsPatch, pin: string) {
    if (pin !== this.pin) throw new ImprintError('ADMIN_PIN_INVALID', 'Wrong admin PIN');
    this.settings = { ...this.settings, ...patch, pairing: { ...this.settings.pairing, ...patch.pairing } } as StationSettings;
    return this.settings;
  }
  async listPorts(): Promise<PortInfo[]> {
    return [{ path: '/dev/ttyUSB0', manufacturer: 'FTDI' }];
  }
  async testPort(path: string): Promise<PortTestResult> {
    return { path, ok: false, detail: 'no answer' };
  }
  async syncStatus(): Promise<SyncStatus> {
    return { pendingDevices: 0, pendingEvents: 0, conflicts: [], advice: '' };
  }
  async sync(): Promise<SyncStatus> {
    return this.syncStatus();
  }
}
