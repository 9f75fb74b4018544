// `imprint station run | recover | status`: the headless station. Exit codes (exit-codes.ts):
// 0 every device passed (or nothing to do), 4 some devices failed, 6 a fault of the station
// stopped the line, 7 records still pending; errors as every command (1, 2 bad usage).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { offlineFallback } from '../api/pairing-policy.ts';
import type { LinePause } from '../api/station-api.ts';
import type { Batch } from '../audit/audit-types.ts';
import { loadOrCreateSigningKey } from '../audit/station-signing-key.ts';
import { describeError } from '../common/errors.ts';
import { createLogger } from '../common/logger.ts';
import { ensurePrivateDir } from '../common/private-fs.ts';
import type { LineChange } from '../station/line-gate.ts';
import { FileSecretStore } from '../station/secret-store.ts';
import { Station, type StationRunSummary } from '../station/station.ts';
import { loadStationConfig, type StationConfig, saveStationConfig, stationConfigPath } from '../station/station-config.ts';
import { StationError } from '../station/station-errors.ts';
import { enrolStation, SCOPES } from '../sync/station-enrolment.ts';
import { SyncError } from '../sync/sync-errors.ts';
import { readSyncStatus } from '../sync/sync-status.ts';
import { usage } from './cli-errors.ts';
import { DATA_HELP, resolveDataDir } from './data-dir.ts';
import { EXIT } from './exit-codes.ts';
import { agentToken, type CommonOpts } from './station-options.ts';
import { type RecoverOpts, recoverCommand, statusCommand } from './station-recover-commands.ts';

interface RunOpts extends CommonOpts {
  simulate?: number;
  count?: number;
  config?: string;
  pairing?: string;
  policy?: 'remote' | 'remote-with-offline-fallback' | 'deferred';
  stationId?: string;
  agentToken?: string;
  realm?: string;
  operator?: string;
  batch?: string;
  inProcess?: boolean;
  faultRate?: number;
  seed?: number;
  writeLatency?: number;
  maxPause?: number;
}

const intArg =
  (name: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    return n;
  };

const rateArg = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('must be a number from 0 to 1');
  return n;
};

/** The config a run uses: --config FILE, else `<data>/station.json`, with the command-line overrides. */
function runConfig(opts: RunOpts, data: string): StationConfig {
  const config = opts.config
    ? loadStationConfig(resolve(opts.config), { mustExist: true, dataDir: data })
    : loadStationConfig(stationConfigPath(data));
  if (opts.realm) config.realm = opts.realm;
  if (opts.stationId) config.stationId = opts.stationId;
  if (opts.pairing) {
    if (opts.pairing === 'embedded') config.pairing = { mode: 'embedded' };
    else if (/^https?:\/\//.test(opts.pairing)) {
      // What the station learnt of its remote stays (it is kept per URL and realm).
      const { capabilities } = config.pairing;
      config.pairing = { mode: opts.policy ?? 'remote', url: opts.pairing, ...(capabilities ? { capabilities } : {}) };
    } else usage(`--pairing must be "embedded" or an http(s) URL, not ${opts.pairing}`);
  }
  if (opts.policy && !(opts.pairing && /^https?:\/\//.test(opts.pairing))) usage('--policy needs --pairing URL');
  return config;
}

/**
 * What `station run` was told about its identity and its remote is kept for the next commands
 * (`sync`, `audit query --remote`, the next run): station.json gets the station id, realm, pairing
 * mode and URL; the agent token goes to the station's secret store only, never to station.json.
 */
async function rememberRunSettings(opts: RunOpts, data: string, config: StationConfig, token: string | undefined) {
  if (opts.config) return; // a hand-kept config file is the operator's, not the station's to rewrite
  const file = stationConfigPath(data);
  // Nothing new to keep, and the station id is stored already (stationIdOf).
  if (!opts.pairing && !opts.realm && !opts.stationId && existsSync(file)) return;
  const stored = loadStationConfig(file, { dataDir: data });
  saveStationConfig(file, {
    ...stored,
    stationId: config.stationId,
    realm: config.realm,
    pairing: { ...stored.pairing, ...config.pairing },
  });
  if (token && config.pairing.mode !== 'embedded') await new FileSecretStore(join(data, 'secrets.json')).set('agentToken', token);
}

/** Continue the open batch when it is the same work order; refuse to mix work orders. */
async function ensureBatch(station: Station, workOrder: string): Promise<Batch> {
  const open = station.audit.currentBatch();
  if (open) {
    if (open.workOrder === workOrder) return open;
    usage(`batch ${open.id} (work order ${open.workOrder}) is still open: close it first (imprint batch close)`);
  }
  return station.openBatch(workOrder);
}

/** How many of this station's registrations wait for `imprint sync` (fallback mode), from its own files. */
function waitingToSync(data: string, config: StationConfig): number | undefined {
  if (config.pairing.mode !== 'remote-with-offline-fallback') return undefined;
  return readSyncStatus({ dataDir: data, remoteUrl: config.pairing.url, realm: config.realm, stationId: config.stationId })
    .pendingDevices;
}

function printSummary(s: StationRunSummary, batch: Batch | undefined, waiting: number | undefined): void {
  const lines = [
    `devices: ${s.done}  passed: ${s.passed}  failed: ${s.failed}${s.resumed ? `  (resumed pending: ${s.resumed})` : ''}`,
    `throughput: ${s.devicesPerHour.toLocaleString('en-US')} devices/hour over ${(s.elapsedMs / 1000).toFixed(1)} s`,
    `per device: station ${s.meanStationMs.toFixed(2)} ms, device ${s.meanDeviceMs.toFixed(1)} ms, pairing ${s.meanPairingMs.toFixed(2)} ms, durable commits ${s.meanCommitMs.toFixed(2)} ms`,
  ];
  const codes = Object.entries(s.failuresByCode).sort((a, b) => b[1] - a[1]);
  if (codes.length) lines.push(`failed by code: ${codes.map(([c, n]) => `${c} ${n}`).join(', ')}`);
  if (s.recovery) {
    const r = s.recovery;
    lines.push(
      `recovery at start: completed ${r.completed}, discarded ${r.discarded}, failed ${r.failed}, still pending ${r.kept}`,
    );
  }
  if (s.pauses) lines.push(`line paused ${s.pauses} time(s) by a station fault, ${(s.pausedMs / 1000).toFixed(1)} s in all`);
  if (s.linePause) lines.push(`stopped while paused: ${s.linePause.message} ${s.linePause.action}`);
  if (waiting !== undefined) {
    lines.push(
      `offline: ${s.offline} registered offline this run, ${waiting} waiting to sync${waiting ? ' (imprint sync status lists them; imprint sync sends them)' : ''}`,
    );
  }
  if (s.parked) lines.push(`parked: ${s.parked} device(s) identified and waiting for the pairing core, nothing written to them`);
  if (batch) {
    lines.push(
      `batch: ${batch.id} (work order ${batch.workOrder})${batch.offline ? ' OFFLINE batch' : ''}${batch.closedAt ? ' closed with a signed summary' : ''}`,
    );
  }
  console.log(lines.join('\n'));
}

async function runCommand(opts: RunOpts): Promise<void> {
  const data = resolveDataDir(opts);
  if (opts.simulate !== undefined && opts.config) usage('--simulate and --config cannot be used together');
  if ((opts.inProcess || opts.faultRate !== undefined) && opts.simulate === undefined)
    usage('--in-process and --fault-rate need --simulate N');
  const config = runConfig(opts, data);
  const simulate =
    opts.simulate !== undefined
      ? opts.simulate
      : config.fixtures.length === 0 && config.simulatedFixtures > 0
        ? config.simulatedFixtures
        : undefined;
  if (simulate === undefined && config.fixtures.length === 0) {
    usage('no fixtures to run: pass --simulate N, or --config FILE with fixtures (see docs/station.md)');
  }
  const logger = createLogger({ level: process.env.IMPRINT_LOG_LEVEL ?? (opts.json ? 'error' : 'warn') });
  const operator = opts.operator ?? process.env.IMPRINT_OPERATOR ?? process.env.USER ?? 'operator';
  let maxPauseTimer: NodeJS.Timeout | undefined;
  let stopLine = () => {};
  let told: string | undefined;
  const onLine = (change: LineChange, pause: LinePause) => {
    // A pause is told once; again only if its reason changes (a storage fault during a pairing pause).
    const reason = change === 'retry-failed' && pause.code !== told ? 'paused' : change;
    told = change === 'resumed' || change === 'stopped' ? undefined : pause.code;
    const line = lineMessage(reason, pause, config.pairing.mode === 'deferred');
    if (line) console.error(line);
    if (change === 'resumed' || change === 'stopped') clearTimeout(maxPauseTimer);
    if (change === 'paused' && opts.maxPause !== undefined) {
      // Give up after --max-pause seconds: stop (devices in progress keep their pending records).
      maxPauseTimer = setTimeout(() => stopLine(), opts.maxPause * 1000);
    }
  };
  const token = config.pairing.mode === 'embedded' ? undefined : await agentToken(opts, data);
  ensurePrivateDir(data);
  await rememberRunSettings(opts, data, config, token);
  const station = await Station.open({
    dataDir: data,
    config,
    agentToken: token,
    offlinePolicy: offlineFallback,
    simulate:
      simulate === undefined
        ? undefined
        : {
            fixtures: simulate,
            inProcess: opts.inProcess,
            faultRate: opts.faultRate,
            seed: opts.seed,
            writeLatencyMs: opts.writeLatency,
          },
    operator,
    maxDevices: opts.count,
    onLine,
    logger,
  });
  stopLine = () => void station.stop();
  let batch: Batch | undefined;
  const stopOnSignal = () => {
    if (!opts.json) console.error('\nstopping: finishing the devices in progress…');
    void station.stop();
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  let progress: NodeJS.Timeout | undefined;
  try {
    if (opts.batch) batch = await ensureBatch(station, opts.batch);
    if (!opts.json) {
      const target = opts.count ? `/${opts.count}` : '';
      console.error(
        `station ${config.stationId}: ${simulate !== undefined ? `${simulate} simulated fixture(s)${opts.inProcess ? ' in-process' : ' on PTYs'}` : `${config.fixtures.length} fixture(s)`}, pairing ${station.pairing.kind}${station.pairing.url ? ` ${station.pairing.url}` : ''}, realm ${config.realm}`,
      );
      station.on('fixture', (e) => {
        if (e.type !== 'fixture' || e.fixture.step !== 'done' || e.fixture.outcome !== 'fail' || !e.fixture.failure) return;
        const f = e.fixture;
        console.error(
          `FAIL ${f.id} ${f.hardwareSerial ?? '(no serial)'} ${f.failure!.code}: ${f.failure!.message} → ${f.failure!.action}`,
        );
      });
      progress = setInterval(() => {
        const c = station.counters();
        console.error(
          `  ${c.done}${target} done, ${c.passed} passed, ${c.failed} failed, ${c.devicesPerHour.toLocaleString('en-US')}/h`,
        );
      }, 2000);
      progress.unref();
    }
    await station.start();
    // Keyboard-wedge scanners type into the terminal: with requireScan, each stdin line is a scan.
    const wedge = simulate === undefined && config.requireScan ? readScansFromStdin(station, opts.json === true) : undefined;
    await station.whenIdle();
    wedge?.close();
    await station.stop();
    const done = station.summary();
    if (batch && !done.linePause && opts.count !== undefined && done.done >= opts.count) batch = await station.closeBatch();
    const summary = station.summary();
    const pending = station.pending();
    const stillPending = pending.records.length + pending.unfinished.length;
    const waiting = waitingToSync(data, config);
    if (opts.json) {
      console.log(
        JSON.stringify(
          {
            ...summary,
            ...(waiting === undefined ? {} : { waitingToSync: waiting }),
            stillPending,
            stationId: config.stationId,
            simulated: simulate !== undefined,
            batch,
          },
          null,
          2,
        ),
      );
    } else {
      printSummary(summary, batch, waiting);
      if (stillPending) console.log(`still pending: ${stillPending} (imprint station status lists them)`);
    }
    process.exitCode = summary.linePause
      ? EXIT.STATION_FAULT
      : summary.failed > 0
        ? EXIT.DEVICES_FAILED
        : stillPending > 0
          ? EXIT.PENDING
          : EXIT.OK;
  } finally {
    clearTimeout(maxPauseTimer);
    if (progress) clearInterval(progress);
    process.off('SIGINT', stopOnSignal);
    process.off('SIGTERM', stopOnSignal);
    await station.close();
  }
}

function readScansFromStdin(station: Station, quiet: boolean): { close(): void } {
  const rl = createInterface({ input: process.stdin, terminal: false });
  rl.on('line', (line) => {
    const text = line.trim();
    if (!text) return;
    station.submitScan(text).catch((e: unknown) => {
      if (!quiet) console.error(`scan ignored: ${describeError(e)}`);
    });
  });
  return { close: () => rl.close() };
}

/** `imprint station …` subcommands. */
export function registerStationCommands(program: Command): void {
  const station = program
    .command('station')
    .description('Run the provisioning station headless, recover after a crash, show its state');
  const common = (cmd: Command) => cmd.option('--data <dir>', DATA_HELP).option('--json', 'print JSON instead of text');

  common(
    station
      .command('run')
      .description('Provision devices on simulated fixtures (--simulate N) or real ports (--config FILE)')
      .option('--simulate <n>', 'run N simulated fixtures', intArg('--simulate', 1, 64))
      .option('--count <m>', 'stop after M devices', intArg('--count', 1))
      .option('--config <file>', 'station config file with fixtures (device port, scanner port, baud)')
      .option('--pairing <mode>', '"embedded" or the URL of a remote pairing core')
      .addOption(
        new Option(
          '--policy <policy>',
          'with --pairing URL, while the core does not answer: "remote" (the line pauses, the default), "deferred" (devices are identified and parked, nothing written, provisioned when it answers) or "remote-with-offline-fallback" (register offline, sync later: only towards a core that can import them)',
        ).choices(['remote', 'deferred', 'remote-with-offline-fallback']),
      )
      .option('--station-id <id>', "this station's id (default: stored in station.json, made once from the host name)")
      .addOption(new Option('--agent-token <token>', 'agent token for a remote core').env('IMPRINT_AGENT_TOKEN'))
      .option('--realm <name>', 'realm to register devices in')
      .option('--operator <name>', 'operator recorded in the audit trail')
      .option('--batch <workOrder>', 'open (or continue) a batch for this work order; closed at the end of a --count run')
      .option('--in-process', 'simulated devices in-process instead of on PTYs')
      .option('--fault-rate <r>', 'share of simulated devices with an injected fault (0..1)', rateArg)
      .option('--seed <n>', 'seed for the simulated line', intArg('--seed', 0))
      .option('--write-latency <ms>', 'simulated OTP programming time (default 20)', intArg('--write-latency', 0, 60000))
      .option(
        '--max-pause <s>',
        'stop (exit 6) when a station fault keeps the line paused this long (default: wait for it to clear)',
        intArg('--max-pause', 1),
      ),
  ).action((opts: RunOpts) => runCommand(opts));

  common(
    station
      .command('recover')
      .description('Settle pending records: ask each device for its digest, or decide (--discard, --set-aside)')
      .option('--config <file>', 'station config file (fixture ports)')
      .addOption(new Option('--agent-token <token>', 'agent token for a remote core').env('IMPRINT_AGENT_TOKEN'))
      .option('--discard [id...]', 'discard records whose device never confirmed the write (record id, device id or serial)')
      .option('--set-aside [id...]', 'set aside confirmed devices that were never finished (device id or serial)')
      .option('--all', 'with --discard / --set-aside: every record still pending')
      .option('--operator <name>', 'who decides (recorded in the audit trail; default $IMPRINT_OPERATOR)'),
  ).action((opts: RecoverOpts) => recoverCommand(opts));

  common(
    station
      .command('enroll')
      .description(
        `plant IT: enrol this station (its id and audit signing key) at the central pairing core; the token needs ${SCOPES.enrol}`,
      )
      .option('--pairing <url>', 'the central pairing core (default: pairing.url of station.json)')
      .option('--realm <name>', 'realm (default: the station config realm)')
      .addOption(new Option('--agent-token <token>', `agent token with ${SCOPES.enrol}`).env('IMPRINT_AGENT_TOKEN'))
      .option('--station-id <id>', "this station's id (default: the one in station.json; a new one is stored there)"),
  ).action((opts: EnrollOpts) => enrollCommand(opts));

  common(station.command('status').description('Pending records (age, fixture, device, why) and device counts')).action(
    (opts: CommonOpts) => statusCommand(opts),
  );
}

interface EnrollOpts extends CommonOpts {
  pairing?: string;
  realm?: string;
  agentToken?: string;
  stationId?: string;
}

/** `imprint station enroll`: the station's id bound to its Ed25519 audit key at the central core. */
async function enrollCommand(opts: EnrollOpts): Promise<void> {
  const data = resolveDataDir(opts);
  ensurePrivateDir(data);
  const file = stationConfigPath(data);
  const config = loadStationConfig(file, { dataDir: data });
  const remoteUrl = opts.pairing ?? config.pairing.url;
  if (!remoteUrl) throw new SyncError('NO_REMOTE', 'neither --pairing URL nor pairing.url in station.json');
  const token = await agentToken(opts, data);
  if (!token) throw new StationError('AGENT_TOKEN_MISSING');
  const realm = opts.realm ?? config.realm;
  // The id is set at enrolment: the one given here is the station's from now on.
  if (opts.stationId && opts.stationId !== config.stationId) saveStationConfig(file, { ...config, stationId: opts.stationId });
  const stationId = opts.stationId ?? config.stationId;
  const key = loadOrCreateSigningKey(data);
  const e = await enrolStation(
    { remoteUrl, agentToken: token, realm },
    { stationId, publicKeySpki: key.publicKey, keyId: key.keyId },
  );
  if (opts.json) return console.log(JSON.stringify({ ...e, realm, remote: remoteUrl }));
  console.log(
    `${e.created ? 'enrolled' : 'already enrolled'}: station ${e.stationId} with key ${e.keyId} at ${remoteUrl} (realm ${realm}), since ${e.enrolledAt}`,
  );
}

/** One line per change of the line's state (a pause is told once; a retry that fails is not). */
function lineMessage(change: LineChange, p: LinePause, deferred = false): string | undefined {
  const ago = ((Date.now() - Date.parse(p.since)) / 1000).toFixed(1);
  if (change === 'paused' && deferred && p.code === 'PAIRING_CORE_UNREACHABLE') {
    return `PAIRING CORE AWAY — devices are identified and parked in their fixtures, nothing written to them; they are provisioned when it answers\n  (${p.code}: ${p.detail ?? ''}; retrying by itself)`;
  }
  if (change === 'paused') return `LINE PAUSED — ${p.message} ${p.action}\n  (${p.code}: ${p.detail ?? ''}; retrying by itself)`;
  if (change === 'resumed') return `line resumed after ${ago} s (${p.code} cleared)`;
  if (change === 'stopped') return `line stopped while paused (${p.code}) after ${ago} s`;
  return undefined;
}
