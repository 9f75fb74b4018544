// `imprint pairing store …`: which store a pairing command uses (`--store postgres://…`, or
// IMPRINT_PAIRING_STORE; default the embedded SQLite store in --data), what it looks like, and the
// move of an embedded core's state into a fleet's PostgreSQL store.
import type { Command } from 'commander';
import type { Logger } from '../common/logger.ts';
import { redactUrl } from '../db/postgres.ts';
import { EmbeddedPairingCore } from '../pairing/embedded-core.ts';
import type { PairingStore } from '../pairing/pairing-store.ts';
import { verifyStoreCoreChain } from '../pairing/store/core-chain-check.ts';
import { describeStore, openPairingStore, STORE_ENV, storeFromFlag } from '../pairing/store/open-store.ts';
import { copyEmbeddedStore } from '../pairing/store/store-copy.ts';
import { DATA_HELP, resolveDataDir } from './data-dir.ts';
import { EXIT } from './exit-codes.ts';

export const STORE_HELP = `postgres://USER:PASSWORD@HOST:5432/DB of a fleet's shared store (default: $${STORE_ENV}, else the embedded store in --data)`;

/** Adds `--store URL` to a pairing command. */
export function withStoreOption(cmd: Command): Command {
  return cmd.option('--store <url>', STORE_HELP);
}

/** The core a pairing command works on: keys in --data, rows in --store (or the embedded store). */
export function openCliCore(
  opts: { data?: string; store?: string },
  extra: {
    logger?: Logger;
    defaultBrokerUrl?: string;
    ocspUrl?: (realm: string) => string | undefined;
    signingThreads?: number;
  } = {},
): Promise<EmbeddedPairingCore> {
  return EmbeddedPairingCore.open({ dataDir: resolveDataDir(opts), store: storeFromFlag(opts.store), ...extra });
}

/** Opens the store `--store`/`--data` name, hands it to `use`, and closes it whatever happens. */
async function withChosenStore(
  o: { data?: string; store?: string },
  use: (s: PairingStore, choice: { dataDir: string; store: string | undefined }) => Promise<void>,
): Promise<void> {
  const choice = { dataDir: resolveDataDir(o), store: storeFromFlag(o.store) };
  const s = await openPairingStore(choice);
  try {
    await use(s, choice);
  } finally {
    await s.close();
  }
}

export function registerPairingStoreCommands(pairing: Command): void {
  const store = pairing.command('store').description("the pairing core's store: status, and copy from embedded to PostgreSQL");

  withStoreOption(
    store
      .command('status')
      .description('engine, location, schema version, durability and round trip of the store')
      .option('--data <dir>', DATA_HELP)
      .option('--json', 'print JSON'),
  ).action((o: { data?: string; store?: string; json?: boolean }) =>
    withChosenStore(o, async (s, choice) => {
      const health = await s.health();
      const status = {
        engine: s.engine,
        location: describeStore(choice),
        schemaVersion: await s.schemaVersion(),
        durability: s.durability(),
        reachable: health.ok,
        roundTripMs: Math.round(health.latencyMs * 100) / 100,
        realms: (await s.realms.list()).length,
      };
      if (o.json) console.log(JSON.stringify(status, null, 2));
      else for (const [k, v] of Object.entries(status)) console.log(`${k.padEnd(14)} ${v}`);
    }),
  );

  withStoreOption(
    store
      .command('verify-audit')
      .description("verify the core's own audit chain (claims, claim tokens, /sign) where the store keeps it; exit 3 when broken")
      .option('--data <dir>', DATA_HELP)
      .option('--json', 'print JSON'),
  ).action((o: { data?: string; store?: string; json?: boolean }) =>
    withChosenStore(o, async (s, choice) => {
      const status = await verifyStoreCoreChain(s);
      if (o.json) console.log(JSON.stringify(status));
      else if (status.ok)
        console.log(`core audit chain in ${describeStore(choice)} OK: ${status.events} events; last hash ${status.lastHash}`);
      else
        console.log(`core audit chain in ${describeStore(choice)} BROKEN: broken at event ${status.brokenAt}: ${status.reason}`);
      if (!status.ok) process.exitCode = EXIT.TRAIL_BROKEN;
    }),
  );

  store
    .command('copy')
    .description(
      "copy an embedded core's state (realms, devices with their secret hashes, certificates, claims, /sign, imports, audit) into PostgreSQL",
    )
    .requiredOption('--from <dir>', 'data directory of the embedded core (holds pairing.sqlite and ca/)')
    .requiredOption('--to <url>', 'postgres://USER:PASSWORD@HOST:5432/DB of the fleet store')
    .option('--json', 'print the report as JSON')
    .action(async (o: { from: string; to: string; json?: boolean }) => {
      const fromDir = resolveDataDir({ data: o.from });
      const toUrl = storeFromFlag(o.to) as string;
      const report = await copyEmbeddedStore({ fromDir, toUrl });
      if (o.json) {
        console.log(JSON.stringify(report, null, 2));
        return;
      }
      console.log(`Copied ${fromDir} into ${redactUrl(toUrl)}:`);
      for (const t of report.tables)
        console.log(
          `  ${t.table.padEnd(22)} ${String(t.copied).padStart(8)} copied  ${String(t.alreadyThere).padStart(8)} already there`,
        );
      if (report.coreAuditSkipped) console.log(`  (core audit trail not copied: ${report.coreAuditSkipped})`);
      for (const k of report.keys) console.log(`  fleet ${k.name}: sha256 ${k.sha256.slice(0, 16)}…`);
      console.log(
        `Start every instance with this CA and claim key: --data holding ca/ and claim-signing-key.pem copied from ${fromDir}.`,
      );
    });
}
