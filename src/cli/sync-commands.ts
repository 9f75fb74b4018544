// `imprint sync`: push offline batches and the audit trail to the remote pairing core;
// `imprint sync conflicts`: what QA must look at. Also the remote side of `imprint audit query --remote`.
import { join } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { type Anchor, anchorFromCheckpoint } from '../audit/audit-anchor.ts';
import type { AuditEvent } from '../audit/audit-types.ts';
import { checkpointFileFor, readCheckpointFile } from '../audit/chain-checkpoint.ts';
import { FileSecretStore } from '../station/secret-store.ts';
import { loadStationConfig, stationConfigPath } from '../station/station-config.ts';
import { StationError } from '../station/station-errors.ts';
import { queryRemoteAudit as fetchRemoteAudit } from '../sync/remote-audit.ts';
import { remoteBaseOf } from '../sync/remote-request.ts';
import { type RemoteVerifyResult, verifyRemoteTrail } from '../sync/remote-verify.ts';
import { type RemoteConflict, remoteConflicts, resolveConflict, SCOPES } from '../sync/station-enrolment.ts';
import { stationSerials } from '../sync/station-registry.ts';
import { CONFLICT_ADVICE, recordedConflicts, SyncClient, type SyncProgress, type SyncSummary } from '../sync/sync-client.ts';
import { SyncError } from '../sync/sync-errors.ts';
import { SyncState, syncStateFile } from '../sync/sync-state.ts';
import { readSyncStatus } from '../sync/sync-status.ts';
import { type AuditQueryOptions, auditQueryFromOptions } from './audit-query-options.ts';
import { usage } from './cli-errors.ts';
import { DATA_HELP, resolveDataDir } from './data-dir.ts';
import { EXIT } from './exit-codes.ts';

interface RemoteOpts {
  data?: string;
  remote?: string;
  agentToken?: string;
  realm?: string;
  json?: boolean;
}

/** Remote URL, realm, station id and agent token: flags, else the station's config and secret store. */
async function remoteTarget(opts: RemoteOpts) {
  const data = resolveDataDir(opts);
  const config = loadStationConfig(stationConfigPath(data));
  const remoteUrl = opts.remote ?? config.pairing.url;
  if (!remoteUrl) throw new SyncError('NO_REMOTE', 'neither --remote URL nor pairing.url in station.json');
  const agentToken =
    opts.agentToken ??
    process.env.IMPRINT_AGENT_TOKEN ??
    (await new FileSecretStore(join(data, 'secrets.json')).get('agentToken'));
  if (!agentToken) throw new StationError('AGENT_TOKEN_MISSING');
  return { data, remoteUrl, agentToken, realm: opts.realm ?? config.realm, stationId: config.stationId };
}

/** A progress bar on a terminal, nothing otherwise (scripts read the summary). */
function progressReporter(enabled: boolean): { onProgress?: (p: SyncProgress) => void; stop: () => void } {
  if (!enabled) return { stop: () => {} };
  let bar: SingleBar | undefined;
  let phase: string | undefined;
  const stop = () => {
    bar?.stop();
    bar = undefined;
  };
  return {
    onProgress: (p) => {
      if (p.phase !== phase) {
        stop();
        phase = p.phase;
        if (p.total === 0) return;
        bar = new SingleBar({
          format: `${p.phase === 'devices' ? 'devices     ' : 'audit events'} [{bar}] {value}/{total} {percentage}% eta {eta_formatted}`,
          stream: process.stderr,
          hideCursor: true,
        });
        bar.start(p.total, p.done);
      } else bar?.update(Math.min(p.done, p.total));
    },
    stop,
  };
}

function printSummary(s: SyncSummary): void {
  const d = s.devices;
  const lines = [
    `synced station ${s.station} to ${s.remote} (realm ${s.realm})`,
    `devices: ${d.pending} sent: ${d.imported} imported, ${d.alreadyPresent} already present, ${d.conflicts} conflicts`,
    `audit: ${s.audit.sent} events sent, the remote holds this station's chain up to event ${s.audit.acceptedUpTo} of ${s.audit.localLastSeq}`,
  ];
  if (s.conflicts.length) {
    lines.push('conflicts (not overwritten on the remote core):');
    for (const c of s.conflicts) {
      lines.push(
        `  ${c.deviceId}  serial ${c.hardwareSerial ?? '?'}  batch ${c.batch ?? '-'}: ${c.reason}  (imprint sync resolve ${c.deviceId} --keep core|station)`,
      );
    }
    lines.push('both sides of each: imprint sync conflicts');
    lines.push(`what to do: ${CONFLICT_ADVICE}`);
  }
  console.log(lines.join('\n'));
}

export function registerSyncCommands(program: Command): void {
  const sync = program
    .command('sync')
    .description(
      "push offline batches (device ids and secret hashes, never secrets) and the station's audit trail to the remote pairing core",
    )
    .option('--data <dir>', DATA_HELP)
    .option('--remote <url>', 'remote pairing core (default: pairing.url of station.json)')
    .option('--agent-token <jwt>', 'agent token of the realm (default: $IMPRINT_AGENT_TOKEN, else the station secret store)')
    .option('--realm <realm>', 'realm (default: the station config realm)')
    .option('--json', 'print the summary as JSON')
    .action(async (opts: RemoteOpts) => {
      const t = await remoteTarget(opts);
      const progress = progressReporter(!opts.json && process.stderr.isTTY === true);
      let summary: SyncSummary;
      try {
        summary = await new SyncClient({
          dataDir: t.data,
          remoteUrl: t.remoteUrl,
          agentToken: t.agentToken,
          realm: t.realm,
          stationId: t.stationId,
          onProgress: progress.onProgress,
        }).run();
      } finally {
        progress.stop();
      }
      if (opts.json) console.log(JSON.stringify(summary));
      else printSummary(summary);
      if (summary.conflicts.length) process.exitCode = EXIT.SYNC_CONFLICTS;
    });

  sync
    .command('status')
    .description("what waits to be synced, per batch, read from the station's own files (no network)")
    .option('--data <dir>', DATA_HELP)
    .option('--json', 'print JSON')
    .action((_opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals() as { data?: string; json?: boolean };
      const data = resolveDataDir(opts);
      const config = loadStationConfig(stationConfigPath(data));
      const status = readSyncStatus({
        dataDir: data,
        remoteUrl: config.pairing.url,
        realm: config.realm,
        stationId: config.stationId,
      });
      const out = { station: config.stationId, realm: config.realm, ...status };
      if (opts.json) return console.log(JSON.stringify(out, null, 2));
      const lines = [
        `station ${config.stationId}, realm ${config.realm}, remote ${status.remote ?? '(none: set pairing.url or pass --remote to imprint sync)'}`,
        `waiting to sync: ${status.pendingDevices} device(s), ${status.pendingEvents} audit event(s)`,
      ];
      for (const b of status.pendingByBatch ?? []) lines.push(`  batch ${b.batch}: ${b.devices} device(s) since ${b.since}`);
      lines.push(
        status.lastSync
          ? `last sync: ${status.lastSync.at} to ${status.lastSync.remote}: ${status.lastSync.imported} imported, ${status.lastSync.conflicts} conflicts, ${status.lastSync.eventsSent} events sent`
          : 'last sync: never',
      );
      if (status.conflicts.length) lines.push(`conflicts: ${status.conflicts.length} (imprint sync conflicts)`);
      console.log(lines.join('\n'));
    });

  sync
    .command('conflicts')
    .description('devices the remote core refused on import (registered elsewhere or already confirmed), both sides, for QA')
    .option('--data <dir>', DATA_HELP)
    .option('--json', 'print JSON')
    .action(async (_opts: unknown, cmd: Command) => {
      // `--data` and `--json` may be taken by the parent `sync` command: read both levels.
      const opts = cmd.optsWithGlobals() as RemoteOpts;
      const data = resolveDataDir(opts);
      const config = loadStationConfig(stationConfigPath(data));
      const serials = stationSerials(data);
      // The core's side when it answers (who holds the device, since when); the station's own list otherwise.
      const remote = await remoteSides(opts).catch((e: unknown) => e as Error);
      const conflicts = recordedConflicts(data).map((c) => {
        const held = remote instanceof Error ? undefined : remote.get(c.deviceId);
        return {
          ...c,
          hardwareSerial: serials.get(c.deviceId) ?? held?.hardwareSerial,
          station: { station: config.stationId, batch: c.batch, registeredAt: held?.registeredAt },
          core: held?.heldBy,
          resolve: `imprint sync resolve ${c.deviceId} --keep core|station`,
        };
      });
      if (opts.json) return console.log(JSON.stringify(conflicts));
      if (conflicts.length === 0) return console.log('no conflicts');
      for (const c of conflicts) {
        const core = c.core
          ? `core: ${c.core.source === 'import' ? `imported from station ${c.core.station ?? '?'}` : 'registered online'}, batch ${c.core.batch ?? '-'}, at ${c.core.registeredAt ?? '?'}`
          : `core: ${c.reason}`;
        console.log(
          `${c.deviceId}  serial ${c.hardwareSerial ?? '?'}\n  station: ${c.station.station}, batch ${c.batch ?? '-'}, at ${c.station.registeredAt ?? c.at}\n  ${core}\n  resolve: ${c.resolve}`,
        );
      }
      if (remote instanceof Error) console.log(`(the core's side is not shown: ${remote.message})`);
      console.log(`what to do: ${CONFLICT_ADVICE}`);
    });

  sync
    .command('resolve <device>')
    .description("QA's decision on a conflict: keep the core's registration, or the station's offline one")
    .requiredOption(
      '--keep <side>',
      '"core" (re-provision the device online) or "station" (the core takes the station\'s registration)',
    )
    .option('--data <dir>', DATA_HELP)
    .option('--remote <url>', 'remote pairing core (default: pairing.url of station.json)')
    .option(
      '--agent-token <jwt>',
      `agent token with ${SCOPES.resolve} (default: $IMPRINT_AGENT_TOKEN, else the station secret store)`,
    )
    .option('--realm <realm>', 'realm (default: the station config realm)')
    .option('--json', 'print JSON')
    .action(async (device: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals() as RemoteOpts & { keep: string };
      if (opts.keep !== 'core' && opts.keep !== 'station') usage('--keep must be "core" or "station"');
      const keep = opts.keep as 'core' | 'station';
      const t = await remoteTarget(opts);
      await resolveConflict(t, device, keep, t.stationId);
      const state = SyncState.open(syncStateFile(t.data));
      try {
        state.recordResolution(remoteBaseOf(t.remoteUrl), t.realm, device, keep, new Date().toISOString());
      } finally {
        state.close();
      }
      const next =
        keep === 'core'
          ? 'the core keeps its registration: re-provision the device online (the secret this station wrote does not work on the core)'
          : "the core now holds this station's registration: the device's secret works on the core";
      if (opts.json) console.log(JSON.stringify({ deviceId: device, kept: keep, next }));
      else console.log(`resolved ${device}: ${next}`);
    });
}

/** The core's view of its conflicts, by device id (needs the remote and a token). */
async function remoteSides(opts: RemoteOpts): Promise<Map<string, RemoteConflict>> {
  const t = await remoteTarget(opts);
  return new Map((await remoteConflicts(t)).map((c) => [c.deviceId, c]));
}

export interface RemoteAuditQuery extends RemoteOpts, AuditQueryOptions {}

/**
 * `imprint audit verify --remote URL [--station S]`: the core's copy of a station's trail, checked here
 * end to end under the key the core enrolled. Verifying this station's own copy also requires it to
 * reach this station's chain-head checkpoint (when the core already holds that far).
 */
export async function verifyRemoteStation(
  opts: RemoteOpts & { station?: string },
  anchors: Anchor[],
): Promise<RemoteVerifyResult> {
  const t = await remoteTarget(opts);
  const station = opts.station ?? t.stationId;
  const all = [...anchors];
  if (station === t.stationId) {
    const head = readCheckpointFile(checkpointFileFor(join(t.data, 'audit.db')));
    if ('checkpoint' in head) all.push(anchorFromCheckpoint(head.checkpoint, "this station's chain-head checkpoint"));
  }
  return verifyRemoteTrail({ remoteUrl: t.remoteUrl, agentToken: t.agentToken, realm: t.realm, timeoutMs: 30_000 }, station, {
    anchors: all,
  });
}

/** `imprint audit query --remote URL …`: the central audit of every station, from the remote core. */
export async function queryRemoteAudit(opts: RemoteAuditQuery): Promise<AuditEvent[]> {
  const t = await remoteTarget(opts);
  return fetchRemoteAudit(
    { remoteUrl: t.remoteUrl, agentToken: t.agentToken, realm: t.realm, timeoutMs: 30_000 },
    auditQueryFromOptions(opts),
  );
}
