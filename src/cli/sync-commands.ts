// `imprint sync`: push offline batches and the audit trail to the remote pairing core;
// `imprint sync conflicts`: what QA must look at. Also the remote side of `imprint audit query --remote`.
import { join } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { AuditEvent } from '../audit/audit-types.ts';
import { FileSecretStore } from '../station/secret-store.ts';
import { loadStationConfig, stationConfigPath } from '../station/station-config.ts';
import { StationError } from '../station/station-errors.ts';
import { queryRemoteAudit as fetchRemoteAudit } from '../sync/remote-audit.ts';
import { CONFLICT_ADVICE, recordedConflicts, SyncClient, type SyncProgress, type SyncSummary } from '../sync/sync-client.ts';
import { SyncError } from '../sync/sync-errors.ts';
import { type AuditQueryOptions, auditQueryFromOptions } from './audit-query-options.ts';
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
    for (const c of s.conflicts) lines.push(`  ${c.deviceId}  batch ${c.batch ?? '-'}: ${c.reason}`);
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
    .command('conflicts')
    .description('devices the remote core refused on import (registered elsewhere or already confirmed), for QA')
    .option('--data <dir>', DATA_HELP)
    .option('--json', 'print JSON')
    .action((_opts: unknown, cmd: Command) => {
      // `--data` and `--json` may be taken by the parent `sync` command: read both levels.
      const opts = cmd.optsWithGlobals() as { data?: string; json?: boolean };
      const conflicts = recordedConflicts(resolveDataDir(opts));
      if (opts.json) console.log(JSON.stringify(conflicts));
      else if (conflicts.length === 0) console.log('no conflicts');
      else {
        for (const c of conflicts) console.log(`${c.deviceId}  batch ${c.batch ?? '-'}  ${c.at}  ${c.remote}: ${c.reason}`);
        console.log(`what to do: ${CONFLICT_ADVICE}`);
      }
    });
}

export interface RemoteAuditQuery extends RemoteOpts, AuditQueryOptions {}

/** `imprint audit query --remote URL …`: the central audit of every station, from the remote core. */
export async function queryRemoteAudit(opts: RemoteAuditQuery): Promise<AuditEvent[]> {
  const t = await remoteTarget(opts);
  return fetchRemoteAudit(
    { remoteUrl: t.remoteUrl, agentToken: t.agentToken, realm: t.realm, timeoutMs: 30_000 },
    auditQueryFromOptions(opts),
  );
}
