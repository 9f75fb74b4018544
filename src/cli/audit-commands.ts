// `imprint audit …` (verify, export, query) and `imprint batch …` (open, close, list).
// The trail is <data>/audit.db (data: --data, else $IMPRINT_DATA, else the platform's data folder).
// Exit codes (exit-codes.ts): 0 ok, 3 the trail is not intact (tampered, cut or damaged).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, Option } from 'commander';
import { type Anchor, parseAnchorArgument, shortAnchor } from '../audit/audit-anchor.ts';
import { AuditError } from '../audit/audit-errors.ts';
import { AuditTrail } from '../audit/audit-trail.ts';
import type { AuditEvent, Batch, ChainStatus } from '../audit/audit-types.ts';
import { verifyExportFile } from '../audit/audit-verify.ts';
import { checkpointText } from '../audit/chain-checkpoint.ts';
import { keyIdOfPublicKeyFile } from '../audit/station-signing-key.ts';
import { CommonError } from '../common/common-errors.ts';
import { redactUrl } from '../db/postgres.ts';
import { storeFromFlag } from '../pairing/store/open-store.ts';
import { verifyPgCoreAuditAt } from '../pairing/store/pg-core-audit-verify.ts';
import { verifyCoreChainFile } from '../pairing/store/sqlite-core-audit.ts';
import { PAIRING_SQLITE_FILE } from '../pairing/store/sqlite-store.ts';
import { defaultStationConfig, stationConfigPath } from '../station/station-config.ts';
import { auditQueryFromOptions } from './audit-query-options.ts';
import { usage } from './cli-errors.ts';
import { DATA_HELP, resolveDataDir } from './data-dir.ts';
import { EXIT } from './exit-codes.ts';
import { queryRemoteAudit, type RemoteAuditQuery, verifyRemoteStation } from './sync-commands.ts';

/** The station id: --station, else the station config's, else the default derived from the host name. */
function stationId(dir: string, explicit?: string): string {
  if (explicit) return explicit;
  const file = stationConfigPath(dir);
  if (existsSync(file)) {
    try {
      const id = (JSON.parse(readFileSync(file, 'utf8')) as { stationId?: unknown }).stationId;
      if (typeof id === 'string' && id) return id;
    } catch {
      // A broken station.json is the station's business; batches still need an id.
    }
  }
  return defaultStationConfig().stationId;
}

function openTrail(opts: { data?: string; station?: string }, mode: 'read' | 'write'): AuditTrail {
  const dir = resolveDataDir(opts);
  const file = join(dir, 'audit.db');
  if (mode === 'read' && !existsSync(file)) throw new AuditError('AUDIT_NOT_FOUND', file);
  return AuditTrail.open({ file, stationId: stationId(dir, opts.station), readonly: mode === 'read' });
}

function withTrail<T>(trail: AuditTrail, fn: (t: AuditTrail) => Promise<T> | T): Promise<T> {
  return Promise.resolve()
    .then(() => fn(trail))
    .finally(() => trail.close());
}

function printStatus(status: ChainStatus, what: string, json: boolean): void {
  if (json) console.log(JSON.stringify(status));
  else if (status.ok && status.selection) {
    const search = Object.entries(status.selection).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
    const batches = status.signedBatches ? `, ${status.signedBatches} signed batch summaries verified` : '';
    console.log(
      `${what} OK: a selection of ${status.events} events, each unchanged, the count and their digest signed${batches}`,
    );
    console.log(`  search: ${search.length ? search.join(', ') : '(none)'}`);
    if (status.keyIds?.length) console.log(`  signed by ${status.keyIds.join(', ')} (pin with --key-id)`);
    for (const n of status.notes ?? []) console.log(`  NOTE: ${n}`);
  } else if (status.ok) {
    const range =
      status.firstSeq && status.firstSeq > 1
        ? ` (events ${status.firstSeq}..${status.firstSeq + status.events - 1}: a segment of a longer chain)`
        : '';
    const batches = status.signedBatches !== undefined ? `, ${status.signedBatches} signed batch summaries verified` : '';
    console.log(`${what} OK: ${status.events} events verified${range}${batches}; last hash ${status.lastHash}`);
    for (const a of status.anchors ?? []) console.log(`  reaches ${a.source} (event ${a.seq})`);
    if (status.keyIds?.length) console.log(`  signed by ${status.keyIds.join(', ')} (pin with --key-id)`);
    for (const n of status.notes ?? []) console.log(`  note: ${n}`);
  } else console.log(`${what} BROKEN: broken at event ${status.brokenAt}: ${status.reason}`);
  if (!status.ok) process.exitCode = EXIT.TRAIL_BROKEN;
}

interface VerifyOptions {
  data?: string;
  file?: string;
  keyId?: string[];
  publicKey?: string[];
  anchor?: string[];
  json?: boolean;
  remote?: string;
  station?: string;
  realm?: string;
  agentToken?: string;
  store?: string;
}

/** `--key-id` and `--public-key`: the station keys whose signatures verify accepts (default: any embedded key). */
function trustedKeyIds(opts: VerifyOptions): string[] | undefined {
  const ids = [...(opts.keyId ?? []), ...(opts.publicKey ?? []).map(keyIdOfPublicKeyFile)];
  for (const id of ids)
    if (!/^ed25519:[0-9a-f]{16}$/.test(id)) throw new CommonError('INVALID_ARGUMENT', `--key-id: not a station key id: ${id}`);
  return ids.length ? ids : undefined;
}

/**
 * Anchors the trail must reach besides its own checkpoint. `--remote` (the copy synced to the
 * pairing core) belongs here too: it adds the central copy's head as one more Anchor.
 */
function anchorsFromOptions(opts: VerifyOptions, trusted?: readonly string[]): Anchor[] {
  return (opts.anchor ?? []).map((a) => parseAnchorArgument(a, trusted));
}

/** Opens the trail for verification: a damaged file is a verdict (exit 3), not an error. */
function openForVerify(opts: VerifyOptions, what: (file: string) => string, json: boolean): AuditTrail | undefined {
  try {
    return openTrail(opts, 'read');
  } catch (e) {
    if (!AuditError.is(e, 'AUDIT_DAMAGED')) throw e;
    printStatus({ ok: false, events: 0, brokenAt: 1, reason: e.message }, what(join(resolveDataDir(opts), 'audit.db')), json);
    return undefined;
  }
}

function parseLimit(v: string): number {
  if (!/^\d+$/.test(v)) throw new CommonError('INVALID_ARGUMENT', `--limit must be a positive integer, got "${v}"`);
  return Number(v);
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const cut = (s: string | undefined, n: number) => (!s ? '' : s.length > n ? `${s.slice(0, n - 1)}…` : s);

function eventTable(events: AuditEvent[]): string {
  const head = ['SEQ', 'TIME (UTC)', 'STATION', 'OPERATOR', 'BATCH', 'DEVICE', 'SERIAL', 'STEP', 'OUTCOME', 'ERROR', 'MESSAGE'];
  const rows = events.map((e) => [
    String(e.seq),
    e.ts.replace('T', ' ').replace('Z', ''),
    e.station,
    e.operator ?? '',
    cut(e.batchId, 13),
    e.deviceId ?? '',
    e.hardwareSerial ?? '',
    e.step,
    e.outcome,
    e.errorCode ?? '',
    cut(e.message, 50),
  ]);
  return table([head, ...rows]);
}

function batchLine(b: Batch): string {
  const s = b.summary;
  const counts = s ? `${s.passed} passed, ${s.failed} failed of ${s.total}` : 'open';
  return `batch ${b.id} (work order ${b.workOrder}, operator ${b.operator}${b.offline ? ', offline' : ''}): ${counts}`;
}

function batchTable(batches: Batch[]): string {
  const head = [
    'ID',
    'WORK ORDER',
    'OPERATOR',
    'OPENED (UTC)',
    'CLOSED (UTC)',
    'PASSED',
    'FAILED',
    'TOTAL',
    'OFFLINE',
    'SIGNED BY',
  ];
  const when = (t?: string) => (t ? t.replace('T', ' ').slice(0, 19) : '');
  const rows = batches.map((b) => [
    b.id,
    b.workOrder,
    b.operator,
    when(b.openedAt),
    b.closedAt ? when(b.closedAt) : 'open',
    String(b.summary?.passed ?? ''),
    String(b.summary?.failed ?? ''),
    String(b.summary?.total ?? ''),
    b.offline ? 'yes' : '',
    b.signingKeyId ?? '',
  ]);
  return table([head, ...rows]);
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit trail: verify, export, query');

  audit
    .command('verify')
    .description(
      'verify <data>/audit.db (hash chain, canonical form, batch signatures, and that it still reaches its chain-head checkpoint) or an export file; exit 3 when broken',
    )
    .option('--data <dir>', DATA_HELP)
    .option('--file <export>', 'verify an exported CSV or JSON lines file instead (offline)')
    .option('--key-id <id...>', 'only accept signatures by these station key ids (database or file)')
    .option('--public-key <file...>', 'only accept signatures by this station public key (PEM, or base64 SPKI)')
    .option('--anchor <anchor...>', 'the trail must still reach this anchor: <seq>:<hash>, a checkpoint, or a file holding one')
    .option('--json', 'print the result as JSON')
    .option('--remote <url>', "verify the copy of a station's trail held by this pairing core (imprint sync), end to end")
    .option('--station <id>', 'with --remote: the station (default: this one)')
    .option('--realm <realm>', 'with --remote: realm (default: the station config realm)')
    .option('--agent-token <jwt>', 'with --remote: agent token (default: $IMPRINT_AGENT_TOKEN, else the station secret store)')
    .option('--store <url>', "verify the pairing core's own chain in a fleet's PostgreSQL store (postgres://…) instead")
    .action(async (opts: VerifyOptions) => {
      const json = opts.json ?? false;
      const trusted = trustedKeyIds(opts);
      const anchors = anchorsFromOptions(opts, trusted);
      if (opts.store !== undefined) {
        if (opts.remote || opts.file) throw usage('--store with --remote or --file: verify one copy at a time');
        const url = storeFromFlag(opts.store);
        if (!url) throw usage('--store needs a postgres:// URL');
        printStatus(await verifyPgCoreAuditAt(url, { anchors }), `core audit chain in ${redactUrl(url)}`, json);
        return;
      }
      if (opts.remote) {
        if (opts.file) throw usage('--remote and --file: verify one copy at a time');
        const r = await verifyRemoteStation(opts, anchors);
        printStatus(r.status, `central copy of ${r.station} (enrolled key ${r.keyId})`, json);
        return;
      }
      if (opts.file) {
        if (!existsSync(opts.file)) throw new CommonError('FILE_UNREADABLE', `${opts.file}: no such file`);
        printStatus(await verifyExportFile(opts.file, { trustedKeyIds: trusted, anchors }), `export ${opts.file}`, json);
        return;
      }
      // A pairing core's data directory: its own chain is in pairing.sqlite (earlier versions: audit.db).
      const core = join(resolveDataDir(opts), PAIRING_SQLITE_FILE);
      const coreChain = existsSync(core) ? await verifyCoreChainFile(core) : undefined;
      if (coreChain && !existsSync(join(resolveDataDir(opts), 'audit.db')))
        return printStatus(coreChain, `pairing core audit chain in ${core}`, json);
      const trail = openForVerify(opts, (f) => `audit trail ${f}`, json);
      if (trail)
        await withTrail(trail, (t) => printStatus(t.verify({ trustedKeyIds: trusted, anchors }), `audit trail ${t.file}`, json));
      if (coreChain && !json) printStatus(coreChain, `pairing core audit chain in ${core}`, json);
    });

  audit
    .command('anchor')
    .description(
      'verify the trail, then print a signed checkpoint of its last event for QA to keep outside the station (check it later with verify --anchor)',
    )
    .option('--data <dir>', DATA_HELP)
    .option('--out <file>', 'also write the checkpoint to this file')
    .option('--json', 'print the checkpoint as JSON only')
    .action(async (opts: { data?: string; out?: string; json?: boolean }) => {
      const trail = openForVerify(opts, (f) => `audit trail ${f}`, opts.json ?? false);
      if (!trail) return;
      await withTrail(trail, (t) => {
        const status = t.verify();
        if (!status.ok) return printStatus(status, `audit trail ${t.file}`, opts.json ?? false);
        // The head that was verified (another process may append meanwhile).
        const head = { seq: status.events, hash: status.lastHash };
        let c: ReturnType<AuditTrail['anchor']>;
        try {
          c = t.anchor(head);
        } catch (e) {
          if (!AuditError.is(e, 'AUDIT_NO_SIGNING_KEY') || opts.json || opts.out) throw e;
          console.log(`audit trail ${t.file}: ${status.events} events, intact`);
          console.log(`anchor (unsigned: no station key here): ${shortAnchor(head)}`);
          return;
        }
        if (opts.out) writeFileSync(opts.out, checkpointText(c), { mode: 0o600 });
        if (opts.json) return console.log(JSON.stringify(c));
        console.log(`audit trail ${t.file}: ${status.events} events, intact`);
        console.log(`anchor (event ${c.seq}, ${c.time}, signed by ${c.keyId}):`);
        console.log(`  ${shortAnchor(c)}`);
        console.log(`checkpoint${opts.out ? ` (also in ${opts.out})` : ''}:`);
        console.log(`  ${checkpointText(c).trimEnd()}`);
        console.log(`later: imprint audit verify --anchor ${opts.out ?? `'${shortAnchor(c)}'`} --key-id ${c.keyId}`);
      });
    });

  audit
    .command('export')
    .description('export the trail (or one batch) as CSV or JSON lines, verifiable offline')
    .addOption(new Option('--format <format>', 'csv or jsonl').choices(['csv', 'jsonl']).makeOptionMandatory())
    .option('--batch <id>', 'only the contiguous stretch of the chain from the batch open to its close')
    .option('--out <file>', 'write to this file (default: standard output)')
    .option('--data <dir>', DATA_HELP)
    .action(async (opts: { format: 'csv' | 'jsonl'; batch?: string; out?: string; data?: string }) => {
      await withTrail(openTrail(opts, 'read'), async (t) => {
        if (opts.out) {
          const { events } = await t.exportToFile({ format: opts.format, batchId: opts.batch, file: opts.out });
          console.error(`exported ${events} events to ${opts.out}`);
        } else process.stdout.write(t.export({ format: opts.format, batchId: opts.batch }));
      });
    });

  audit
    .command('query')
    .description('search the trail (newest first)')
    .option('--device <id>', 'device id')
    .option('--serial <serial>', 'hardware serial')
    .option('--batch <id>', 'batch id')
    .option('--operator <name>', 'operator')
    .option('--station <id>', 'station id')
    .addOption(new Option('--outcome <outcome>', 'ok, fail or info').choices(['ok', 'fail', 'info']))
    .option('--step <step>', 'workflow step (identify, register, write-secret, record, batch-open, …)')
    .option('--from <iso>', 'from this time (inclusive)')
    .option('--to <iso>', 'up to this time (inclusive)')
    .option('--limit <n>', 'at most this many events (default 100, at most 10000)', parseLimit)
    .option('--json', 'print JSON (one array)')
    .option('--data <dir>', DATA_HELP)
    .option('--remote <url>', 'query the central audit of every station on this remote pairing core (imprint sync)')
    .option('--agent-token <jwt>', 'with --remote: agent token (default: $IMPRINT_AGENT_TOKEN, else the station secret store)')
    .option('--realm <realm>', 'with --remote: realm (default: the station config realm)')
    .action(async (opts: RemoteAuditQuery) => {
      if (opts.remote) {
        const events = await queryRemoteAudit(opts);
        if (opts.json) console.log(JSON.stringify(events));
        else if (events.length === 0) console.log('no matching events');
        else console.log(eventTable(events));
        return;
      }
      await withTrail(openTrail({ data: opts.data }, 'read'), (t) => {
        const events = t.query(auditQueryFromOptions(opts));
        if (opts.json) console.log(JSON.stringify(events));
        else if (events.length === 0) console.log('no matching events');
        else console.log(eventTable(events));
      });
    });

  const batch = program.command('batch').description('batches (a shift or a work order), closed with a signed summary');

  batch
    .command('open')
    .description('open a batch (one open batch per station)')
    .requiredOption('--work-order <wo>', 'work order number')
    .requiredOption('--operator <name>', 'operator opening the batch')
    .option('--offline', 'registrations go to the embedded core while the remote core is unreachable')
    .option('--station <id>', 'station id (default: from <data>/station.json, else derived from the host name)')
    .option('--json', 'print the batch as JSON')
    .option('--data <dir>', DATA_HELP)
    .action(
      async (opts: {
        workOrder: string;
        operator: string;
        offline?: boolean;
        station?: string;
        json?: boolean;
        data?: string;
      }) => {
        await withTrail(openTrail(opts, 'write'), async (t) => {
          const b = await t.openBatch({ workOrder: opts.workOrder, operator: opts.operator, offline: opts.offline });
          console.log(opts.json ? JSON.stringify(b) : `opened ${batchLine(b)}`);
        });
      },
    );

  batch
    .command('close [id]')
    .description('close the open batch (or batch ID): count, sign and record its summary')
    .option('--json', 'print the closed batch as JSON')
    .option('--data <dir>', DATA_HELP)
    .action(async (id: string | undefined, opts: { json?: boolean; data?: string }) => {
      await withTrail(openTrail(opts, 'write'), async (t) => {
        const target = id ?? t.currentBatch()?.id;
        if (!target) throw new AuditError('AUDIT_NO_OPEN_BATCH');
        const b = await t.closeBatch(target);
        if (opts.json) console.log(JSON.stringify(b));
        else {
          console.log(`closed ${batchLine(b)}`);
          const codes = Object.entries(b.summary?.failuresByCode ?? {});
          if (codes.length) console.log(`failures: ${codes.map(([c, n]) => `${c} ${n}`).join(', ')}`);
          console.log(`signed by ${b.signingKeyId}`);
        }
      });
    });

  batch
    .command('list')
    .description('list batches, newest first')
    .option('--json', 'print JSON (one array)')
    .option('--data <dir>', DATA_HELP)
    .action(async (opts: { json?: boolean; data?: string }) => {
      await withTrail(openTrail(opts, 'read'), (t) => {
        const batches = t.listBatches();
        if (opts.json) console.log(JSON.stringify(batches));
        else if (batches.length === 0) console.log('no batches');
        else console.log(batchTable(batches));
      });
    });
}
