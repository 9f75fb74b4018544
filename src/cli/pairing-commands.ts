// `imprint pairing …`: run the pairing core as a server and administer it (realms, agent tokens,
// devices). Data lives in --data DIR (default $IMPRINT_DATA, else ./.data).
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import pino from 'pino';
import { CommonError } from '../common/common-errors.ts';
import { listenFailure } from '../common/listen-errors.ts';
import { createLogger } from '../common/logger.ts';
import { checkScopes, generateRealmKeyPair, mintAgentToken, parsePrivateKey, parsePublicKey } from '../pairing/agent-token.ts';
import type { EmbeddedPairingCore } from '../pairing/embedded-core.ts';
import { servePairing } from '../pairing/http/server.ts';
import { nativeEcdsa } from '../pairing/native-addon.ts';
import { registerAstartectlPairingCommands } from './astartectl-commands.ts';
import { CliError } from './cli-errors.ts';
import { DATA_HELP, resolveDataDir } from './data-dir.ts';
import { EXIT } from './exit-codes.ts';
import { registerPairingBrokerCommands } from './pairing-broker-commands.ts';
import { openDeviceRegistration, registerPairingClaimCommands } from './pairing-claim-commands.ts';
import { cliError } from './pairing-cli-errors.ts';
import { openCliCore, registerPairingStoreCommands, withStoreOption } from './pairing-store-commands.ts';

function readTextFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : code;
    throw new CommonError('FILE_UNREADABLE', `${what} ${path}: ${why}`);
  }
}

function parseInteger(value: string, name: string, min: number, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new CommonError('INVALID_ARGUMENT', `${name} must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return Number(value);
}

async function withCore<T>(
  opts: { data?: string; store?: string },
  ctx: { realm?: string; deviceId?: string },
  fn: (core: EmbeddedPairingCore) => T | Promise<T>,
) {
  const core = await openCliCore(opts);
  try {
    return await fn(core);
  } catch (e) {
    throw cliError(e, ctx);
  } finally {
    await core.close();
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerPairingCommands(program: Command): void {
  const pairing = program
    .command('pairing')
    .description('pairing core: serve the Astarte Pairing API, manage realms, agent tokens and devices');

  withStoreOption(pairing.command('serve'))
    .description('serve the Astarte-compatible Pairing API over HTTP')
    .option('--data <dir>', DATA_HELP)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'TCP port (0: any free port)', '4003')
    .option('--broker-url <url>', 'MQTT broker URL for devices of realms created without --broker-url')
    .option(
      '--public-url <url>',
      "this server's URL as devices and brokers reach it, for the OCSP URL in certificates (default: http://HOST:PORT)",
    )
    .option('--sign-realm <realm>', 'serve Foundries-compatible POST /sign for this realm (it needs a --factory)')
    .option(
      '--sign-port <port>',
      'serve POST /sign also on this port, on a lean HTTP server of its own (one request per connection; 0: any free port)',
    )
    .option('--sign-gateway-url <url>', 'device gateway URL written into sota.toml (default: https://ota-lite.foundries.io:8443)')
    .option('--sign-root-crt <file>', "root.crt given to /sign devices (default: this core's CA certificate)")
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (chain) and --tls-key')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option(
      '--signing-threads <n>',
      'threads that check CSRs and sign while the event loop is saturated and a core is spare (0: always on the event loop; default: cores - 1, 1 to 4)',
    )
    .action(
      async (opts: {
        data?: string;
        store?: string;
        host: string;
        port: string;
        brokerUrl?: string;
        publicUrl?: string;
        signRealm?: string;
        signPort?: string;
        signGatewayUrl?: string;
        signRootCrt?: string;
        tlsCert?: string;
        tlsKey?: string;
        signingThreads?: string;
      }) => {
        const port = parseInteger(opts.port, '--port', 0, 65535);
        const signPort = opts.signPort === undefined ? undefined : parseInteger(opts.signPort, '--sign-port', 0, 65535);
        if (signPort !== undefined && opts.signRealm === undefined) {
          throw new CommonError('INVALID_ARGUMENT', '--sign-port serves POST /sign: it needs --sign-realm');
        }
        const signingThreads =
          opts.signingThreads === undefined ? undefined : parseInteger(opts.signingThreads, '--signing-threads', 0, 64);
        if (opts.brokerUrl !== undefined && !URL.canParse(opts.brokerUrl)) {
          throw new CommonError('INVALID_ARGUMENT', `--broker-url must be an absolute URL, got "${opts.brokerUrl}"`);
        }
        if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined))
          throw new CommonError('INVALID_ARGUMENT', '--tls-cert and --tls-key go together');
        const tls =
          opts.tlsCert && opts.tlsKey
            ? { cert: readTextFile(opts.tlsCert, 'TLS certificate'), key: readTextFile(opts.tlsKey, 'TLS key') }
            : undefined;
        // Buffered log writes: a request line per request must not cost a write(2) each (written once 4 KiB
        // gathered, and at least every second).
        const logger = createLogger({
          name: 'pairing',
          destination: pino.destination({ dest: 2, sync: false, minLength: 4096 }),
        });
        setInterval(() => logger.flush(), 1000).unref();
        if (opts.publicUrl !== undefined && !/^https?:\/\/[\x21-\x7e]+$/.test(opts.publicUrl)) {
          throw new CommonError('INVALID_ARGUMENT', `--public-url must be an absolute http(s) URL, got "${opts.publicUrl}"`);
        }
        const dataDir = resolveDataDir(opts);
        // Known once listening (port 0 picks one): certificates issued from then on carry the OCSP URL.
        let publicUrl = opts.publicUrl?.replace(/\/+$/, '');
        const ocspUrl = (realm: string) => (publicUrl ? `${publicUrl}/v1/${encodeURIComponent(realm)}/ca/ocsp` : undefined);
        const core = await openCliCore(opts, { logger, ocspUrl, signingThreads });
        let server: Awaited<ReturnType<typeof servePairing>>;
        let registration: Awaited<ReturnType<typeof openDeviceRegistration>> | undefined;
        try {
          // Claims (always) and /sign (--sign-realm), audited as station "pairing-core" in the store's own chain.
          registration = await openDeviceRegistration(core, dataDir, opts, logger);
          const { claims, sign } = registration;
          server = await servePairing({
            core,
            logger,
            host: opts.host,
            port,
            defaultBrokerUrl: opts.brokerUrl,
            claims,
            sign,
            tls,
            signPort,
          });
        } catch (e) {
          await registration?.close();
          await core.close();
          // Node's error names the port it could not take: --port's, or --sign-port's.
          const onSignPort = signPort !== undefined && signPort !== port && (e as { port?: unknown }).port === signPort;
          const failed = onSignPort ? { port: signPort, portOption: '--sign-port' } : { port, portOption: '--port' };
          throw listenFailure(e, { host: opts.host, ...failed, hostOption: '--host' }) ?? e;
        }
        if ((await core.listRealms()).length === 0) {
          logger.warn('no realm yet: create one with `imprint pairing realm create NAME --public-key FILE`');
        }
        if (!nativeEcdsa.active) {
          logger.warn(`native ECDSA addon ${nativeEcdsa.status}: CSR checks and certificate signatures use node:crypto (slower)`);
        }
        publicUrl ??= server.url;
        console.log(`Pairing API listening on ${server.url} (store: ${core.storeEngine}, ${core.durability()})`);
        if (server.signUrl) console.log(`Foundries /sign listening on ${server.signUrl}/sign`);
        await new Promise<void>((done) => {
          const stop = (signal: string) => {
            logger.info({ signal }, 'shutting down');
            server
              .close()
              .then(() => registration?.close())
              .then(() => core.close())
              .catch((e) => logger.error({ err: e }, 'shutdown failed'))
              .finally(() => {
                logger.flush();
                done();
              });
          };
          process.once('SIGINT', () => stop('SIGINT'));
          process.once('SIGTERM', () => stop('SIGTERM'));
        });
      },
    );

  const realm = pairing.command('realm').description('realms: agent public key, broker URL, registration limit');

  withStoreOption(realm.command('create <name>'))
    .description('create a realm whose agents sign tokens with the private half of --public-key')
    .requiredOption('--public-key <file>', 'PEM public key of the realm (RSA or EC P-256/384/521)')
    .option('--broker-url <url>', 'MQTT broker URL given to devices (default: mqtts://localhost:8883/)')
    .option('--limit <n>', 'device registration limit')
    .option('--factory <name>', 'factory name: the OU Foundries devices carry in their CSR for POST /sign')
    .option('--data <dir>', DATA_HELP)
    .action(
      async (
        name: string,
        opts: { publicKey: string; brokerUrl?: string; limit?: string; factory?: string; data?: string; store?: string },
      ) => {
        const publicKeyPem = readTextFile(opts.publicKey, 'public key file');
        parsePublicKey(publicKeyPem);
        const limit = opts.limit === undefined ? undefined : parseInteger(opts.limit, '--limit', 0, Number.MAX_SAFE_INTEGER);
        const created = await withCore(opts, { realm: name }, (core) =>
          core.createRealm({
            name,
            publicKeyPem,
            brokerUrl: opts.brokerUrl,
            deviceRegistrationLimit: limit,
            factory: opts.factory,
          }),
        );
        console.log(
          `Realm ${created.name} created (broker ${created.brokerUrl}, limit ${created.deviceRegistrationLimit ?? 'none'})`,
        );
      },
    );

  withStoreOption(realm.command('list'))
    .description('list realms')
    .option('--data <dir>', DATA_HELP)
    .option('--json', 'print JSON')
    .action(async (opts: { data?: string; store?: string; json?: boolean }) => {
      const realms = await withCore(opts, {}, (core) => core.listRealms());
      if (opts.json) {
        console.log(JSON.stringify(realms, null, 2));
        return;
      }
      if (realms.length === 0) {
        console.log('No realms (create one with: imprint pairing realm create NAME --public-key FILE)');
        return;
      }
      const rows = [['NAME', 'BROKER URL', 'LIMIT', 'FACTORY']].concat(
        realms.map((r) => [r.name, r.brokerUrl, String(r.deviceRegistrationLimit ?? '-'), r.factory ?? '-']),
      );
      const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
      for (const row of rows)
        console.log(
          row
            .map((cell, i) => cell.padEnd(widths[i]))
            .join('  ')
            .trimEnd(),
        );
    });

  pairing
    .command('token')
    .description("print an agent JWT signed with the realm's private key (algorithm from the key type)")
    .requiredOption('--private-key <file>', 'PEM private key of the realm')
    .option('--scope <METHOD::PATH>', 'allowed "METHOD::PATH" regex, repeatable (default: ".*::.*", everything)', collect, [])
    .option('--ttl <seconds>', 'lifetime in seconds, 0 for no expiry', '3600')
    .action(async (opts: { privateKey: string; scope: string[]; ttl: string }) => {
      try {
        checkScopes(opts.scope);
      } catch (e) {
        process.exitCode = EXIT.USAGE;
        throw e;
      }
      const privateKey = parsePrivateKey(readTextFile(opts.privateKey, 'private key file'));
      const ttlSeconds = parseInteger(opts.ttl, '--ttl', 0, 10 * 365 * 24 * 3600);
      const token = await mintAgentToken({ privateKey, scopes: opts.scope.length ? opts.scope : undefined, ttlSeconds });
      console.log(token);
    });

  pairing
    .command('keygen')
    .description('write a new EC P-256 realm key pair: realm-private.pem (0600) and realm-public.pem')
    .requiredOption('--out <dir>', 'directory to write the keys to')
    .option('--force', 'overwrite existing key files')
    .action((opts: { out: string; force?: boolean }) => {
      const privatePath = join(opts.out, 'realm-private.pem');
      const publicPath = join(opts.out, 'realm-public.pem');
      if (!opts.force && (existsSync(privatePath) || existsSync(publicPath))) {
        throw new CliError('KEY_EXISTS', `${privatePath} or ${publicPath} already exists`);
      }
      const keys = generateRealmKeyPair();
      try {
        mkdirSync(opts.out, { recursive: true });
        writeFileSync(privatePath, keys.privateKeyPem, { mode: 0o600 });
        chmodSync(privatePath, 0o600);
        writeFileSync(publicPath, keys.publicKeyPem, { mode: 0o644 });
      } catch (e) {
        throw new CommonError('FILE_UNWRITABLE', `keys to ${opts.out}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      console.log(`Wrote ${privatePath} (keep it secret) and ${publicPath}`);
    });

  registerPairingClaimCommands(pairing);
  registerPairingBrokerCommands(pairing);
  registerAstartectlPairingCommands(pairing);
  registerPairingStoreCommands(pairing);

  const device = pairing.command('device').description('devices of a realm');

  withStoreOption(device.command('inhibit <realm> <deviceId>'))
    .description('refuse (or with --off, allow again) credentials requests of a device')
    .option('--off', 'lift the inhibition')
    .option('--data <dir>', DATA_HELP)
    .action(async (realmName: string, deviceId: string, opts: { off?: boolean; data?: string; store?: string }) => {
      await withCore(opts, { realm: realmName, deviceId }, (core) => core.setInhibited(realmName, deviceId, !opts.off));
      console.log(`Device ${deviceId} in realm ${realmName}: ${opts.off ? 'inhibition lifted' : 'inhibited'}`);
    });

  withStoreOption(device.command('show <realm> <deviceId>'))
    .description('show a device: status, registration and certificate dates (never its secret)')
    .option('--data <dir>', DATA_HELP)
    .option('--json', 'print JSON')
    .action(async (realmName: string, deviceId: string, opts: { data?: string; store?: string; json?: boolean }) => {
      const record = await withCore(opts, { realm: realmName, deviceId }, (core) => core.showDevice(realmName, deviceId));
      if (opts.json) {
        console.log(JSON.stringify(record, null, 2));
        return;
      }
      for (const [k, v] of Object.entries(record)) {
        console.log(`${k.padEnd(26)} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
      }
    });
}
