// `imprint pairing claim-token …` (fleet claim tokens) and `imprint pairing sign reopen` (Foundries
// /sign), and what `imprint pairing serve` needs to offer claims and /sign.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CommonError } from '../common/common-errors.ts';
import type { Logger } from '../common/logger.ts';
import { ClaimService } from '../pairing/claims/claim-service.ts';
import { CoreAudit, openCoreAuditSink } from '../pairing/core-audit.ts';
import type { EmbeddedPairingCore } from '../pairing/embedded-core.ts';
import { SignService } from '../pairing/foundries/sign-service.ts';
import { DATA_HELP, resolveDataDir } from './data-dir.ts';
import { cliError } from './pairing-cli-errors.ts';
import { openCliCore, withStoreOption } from './pairing-store-commands.ts';

const DURATION = /^(\d+)([smhdw])$/;
const UNIT_S: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400 };

/** `7d`, `12h`, `30m`, `2w`, `90s` → seconds. */
export function parseDuration(text: string, name: string): number {
  const m = DURATION.exec(text.trim());
  if (!m) throw new CommonError('INVALID_ARGUMENT', `${name} must look like 7d, 12h, 30m or 2w, got "${text}"`);
  return Number(m[1]) * UNIT_S[m[2]];
}

/** Opens the core, its audit trail and the claim service for one CLI command. */
async function withClaims<T>(
  opts: { data?: string; store?: string },
  realm: string,
  fn: (claims: ClaimService, core: EmbeddedPairingCore, audit: CoreAudit) => Promise<T>,
) {
  const dir = resolveDataDir(opts);
  const core = await openCliCore(opts);
  const sink = openCoreAuditSink(core.extension().store, dir);
  try {
    const audit = new CoreAudit(sink);
    const claims = await ClaimService.open(core, dir, { audit });
    return await fn(claims, core, audit);
  } catch (e) {
    throw cliError(e, { realm });
  } finally {
    await sink.close();
    await core.close();
  }
}

function operatorName(): string {
  return process.env.IMPRINT_OPERATOR || process.env.USER || 'cli';
}

export interface DeviceRegistrationOptions {
  signRealm?: string;
  signGatewayUrl?: string;
  signRootCrt?: string;
}

/** For `imprint pairing serve`: the claim service (always) and /sign (with --sign-realm), audited. */
export async function openDeviceRegistration(
  core: EmbeddedPairingCore,
  dataDir: string,
  opts: DeviceRegistrationOptions,
  logger: Logger,
): Promise<{ claims: ClaimService; sign?: SignService; close(): Promise<void> }> {
  // The store's own chain on a shared store (instances keep no state), else <data>/audit.db.
  const sink = openCoreAuditSink(core.extension().store, dataDir, logger);
  try {
    const audit = new CoreAudit(sink, logger);
    const claims = await ClaimService.open(core, dataDir, { audit, logger });
    let sign: SignService | undefined;
    if (opts.signRealm !== undefined) {
      let rootCrtPem: string | undefined;
      if (opts.signRootCrt !== undefined) {
        try {
          rootCrtPem = readFileSync(opts.signRootCrt, 'utf8');
        } catch {
          throw new CommonError('FILE_UNREADABLE', `--sign-root-crt ${opts.signRootCrt}`);
        }
        if (!rootCrtPem.includes('-----BEGIN CERTIFICATE-----'))
          throw new CommonError('INVALID_ARGUMENT', `--sign-root-crt ${opts.signRootCrt} is not a PEM certificate`);
      }
      try {
        sign = await SignService.open(core, {
          realm: opts.signRealm,
          gatewayUrl: opts.signGatewayUrl,
          rootCrtPem,
          audit,
          logger,
        });
      } catch (e) {
        throw cliError(e, { realm: opts.signRealm });
      }
    }
    return { claims, sign, close: async () => sink.close() };
  } catch (e) {
    await sink.close();
    throw e;
  }
}

export function registerPairingClaimCommands(pairing: Command): void {
  const tokens = pairing.command('claim-token').description('fleet claim tokens: devices register themselves with one');

  withStoreOption(tokens.command('create <realm>'))
    .description('mint a claim token (ES256, signed by this core) and print it')
    .option('--max-uses <n>', 'how many devices may claim with it (default: unlimited until it expires)')
    .option('--expires <duration>', 'lifetime: 30m, 12h, 7d, 2w (at most 366d)', '7d')
    .option('--serial-pattern <regex>', 'manufacturer ids allowed (the whole id must match)')
    .option('--batch <work-order>', 'work order recorded with every claim')
    .option(
      '--url <public-base-url>',
      'pairing API base URL devices reach (default: $IMPRINT_PAIRING_URL, else http://localhost:4003)',
    )
    .option('--data <dir>', DATA_HELP)
    .option('--json', 'print JSON (token and record)')
    .action(
      async (
        realm: string,
        o: {
          maxUses?: string;
          expires: string;
          serialPattern?: string;
          batch?: string;
          url?: string;
          data?: string;
          store?: string;
          json?: boolean;
        },
      ) => {
        const maxUses = o.maxUses === undefined ? undefined : Number(o.maxUses);
        if (o.maxUses !== undefined && !/^\d+$/.test(o.maxUses))
          throw new CommonError('INVALID_ARGUMENT', `--max-uses must be a positive integer, got "${o.maxUses}"`);
        const pairingUrl = o.url ?? process.env.IMPRINT_PAIRING_URL ?? 'http://localhost:4003';
        const { token, record } = await withClaims(o, realm, (claims) =>
          claims.createToken(realm, {
            pairingUrl,
            expiresInSeconds: parseDuration(o.expires, '--expires'),
            maxUses,
            serialPattern: o.serialPattern,
            batch: o.batch,
          }),
        );
        if (o.json) {
          console.log(JSON.stringify({ token, ...record }, null, 2));
          return;
        }
        console.error(
          `Claim token ${record.jti} for realm ${realm}: expires ${record.expiresAt}, ` +
            `${record.maxUses ?? 'unlimited'} use(s)${record.serialPattern ? `, serials /${record.serialPattern}/` : ''}`,
        );
        console.log(token);
      },
    );

  withStoreOption(tokens.command('list <realm>'))
    .description("list a realm's claim tokens: uses, expiry, revocation (never the tokens themselves)")
    .option('--data <dir>', DATA_HELP)
    .option('--json', 'print JSON')
    .action(async (realm: string, o: { data?: string; store?: string; json?: boolean }) => {
      const list = await withClaims(o, realm, async (claims) => claims.listTokens(realm));
      if (o.json) {
        console.log(JSON.stringify(list, null, 2));
        return;
      }
      if (list.length === 0) {
        console.log(`No claim tokens in realm ${realm} (mint one with: imprint pairing claim-token create ${realm})`);
        return;
      }
      const now = Date.now();
      const rows = [['TOKEN ID', 'USES', 'EXPIRES', 'STATE', 'SERIAL PATTERN', 'BATCH']].concat(
        list.map((t) => [
          t.jti,
          `${t.uses}/${t.maxUses ?? '∞'}`,
          t.expiresAt,
          t.revokedAt
            ? 'revoked'
            : Date.parse(t.expiresAt) <= now
              ? 'expired'
              : t.maxUses !== null && t.uses >= t.maxUses
                ? 'used up'
                : 'live',
          t.serialPattern ?? '-',
          t.batch ?? '-',
        ]),
      );
      const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
      for (const r of rows)
        console.log(
          r
            .map((c, i) => c.padEnd(widths[i]))
            .join('  ')
            .trimEnd(),
        );
    });

  withStoreOption(tokens.command('revoke <realm> <tokenId>'))
    .description('revoke a claim token: every later claim with it is refused (audited)')
    .option('--data <dir>', DATA_HELP)
    .action(async (realm: string, tokenId: string, o: { data?: string; store?: string }) => {
      const r = await withClaims(o, realm, (claims) => claims.revokeToken(realm, tokenId, operatorName()));
      console.log(`Claim token ${r.jti} revoked (${r.uses} use(s) made)`);
    });

  const sign = pairing.command('sign').description('Foundries-compatible /sign registrations');
  withStoreOption(sign.command('reopen <realm> <uuid>'))
    .description('allow a device UUID to register once more through /sign (audited)')
    .option('--data <dir>', DATA_HELP)
    .action(async (realm: string, uuid: string, o: { data?: string; store?: string }) => {
      await withClaims(o, realm, async (_claims, core, audit) => {
        const service = await SignService.open(core, { realm, audit });
        await service.reopen(uuid, operatorName());
      });
      console.log(`${uuid} in realm ${realm} may register once more through /sign`);
    });
}
