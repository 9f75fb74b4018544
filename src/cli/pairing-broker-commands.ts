// `imprint pairing broker-config mosquitto` and `imprint pairing crl`: what an MQTT broker needs to accept
// the client certificates the pairing core issues (mutual TLS, username = certificate CN = <realm>/<device
// id>) and to refuse revoked ones (a CRL kept fresh by a cron job that runs `imprint pairing crl`).
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CommonError } from '../common/common-errors.ts';
import { ImprintError } from '../common/errors.ts';
import { EmbeddedPairingCore } from '../pairing/embedded-core.ts';
import type { PairingErrorCode } from '../pairing/pairing-api.ts';
import { CliError } from './cli-errors.ts';
import { DATA_HELP, resolveDataDir } from './data-dir.ts';

interface CaSource {
  data?: string;
  pairingUrl?: string;
}

/** The realm's CA certificate and current CRL, from a remote core's public routes or the local data directory. */
async function fetchCaAndCrl(realm: string, src: CaSource): Promise<{ caPem: string; crlPem: string }> {
  if (src.pairingUrl) {
    const base = src.pairingUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
    const get = async (path: string, label: string) => {
      let res: Response;
      try {
        res = await fetch(`${base}/v1/${encodeURIComponent(realm)}/${path}`, { signal: AbortSignal.timeout(10_000) });
      } catch (e) {
        throw new ImprintError<PairingErrorCode>('UNREACHABLE', `Pairing core ${base} is unreachable: ${(e as Error).message}`);
      }
      const text = await res.text();
      if (res.status === 403) throw new ImprintError<PairingErrorCode>('REALM_NOT_FOUND', `Unknown realm "${realm}" at ${base}`);
      if (!res.ok || !text.includes(`-----BEGIN ${label}-----`))
        throw new ImprintError<PairingErrorCode>(
          'REMOTE_ERROR',
          `Unexpected answer ${res.status} from ${base} for the ${path} of "${realm}"`,
        );
      return text;
    };
    return { caPem: await get('ca', 'CERTIFICATE'), crlPem: await get('ca/crl', 'X509 CRL') };
  }
  const core = await EmbeddedPairingCore.open({ dataDir: resolveDataDir(src) });
  try {
    if (!(await core.realm(realm)))
      throw new ImprintError<PairingErrorCode>('REALM_NOT_FOUND', `Unknown realm "${realm}" (see: imprint pairing realm list)`);
    return { caPem: core.caCertificatePem(), crlPem: await core.crlPem() };
  } finally {
    await core.close();
  }
}

/** Replaces `path` atomically (write a temp file, rename): a broker reloading never reads half a CRL. */
function writeAtomic(path: string, text: string, mode = 0o644): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text, { mode });
    chmodSync(tmp, mode);
    renameSync(tmp, path);
  } catch (e) {
    throw new CommonError('FILE_UNWRITABLE', `${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

export interface MosquittoConfigOptions {
  realm: string;
  dir: string;
  port: number;
  bind?: string;
  certfile: string;
  keyfile: string;
}

/** mosquitto.conf for a broker whose clients are the realm's devices. */
export function mosquittoConfig(o: MosquittoConfigOptions): string {
  const file = (name: string) => join(o.dir, name);
  return [
    `# Written by \`imprint pairing broker-config mosquitto --realm ${o.realm}\`.`,
    '# Devices connect with the client certificate the pairing core issued them; their username is the',
    `# certificate's CN, "${o.realm}/<device id>", and the ACL confines each device to its own topics.`,
    `# Keep crl.pem fresh: run \`imprint pairing crl --realm ${o.realm} --out ${file('crl.pem')} --hup PIDFILE\``,
    '# from cron (every few minutes). An expired CRL makes OpenSSL refuse every client: it fails closed.',
    `listener ${o.port}${o.bind ? ` ${o.bind}` : ''}`,
    'protocol mqtt',
    `certfile ${o.certfile}`,
    `keyfile ${o.keyfile}`,
    `cafile ${file('ca.pem')}`,
    'require_certificate true',
    'use_identity_as_username true',
    `crlfile ${file('crl.pem')}`,
    'allow_anonymous false',
    `acl_file ${file('acl')}`,
    '',
  ].join('\n');
}

/** Each device reads and writes under its own `<realm>/<device id>/`, as Astarte's broker plugin allows. */
export const MOSQUITTO_ACL = [
  '# %u is the username: the certificate CN "<realm>/<device id>".',
  'pattern readwrite %u/#',
  '',
].join('\n');

function sendHup(pidFile: string): number {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
  } catch (e) {
    throw new CommonError('FILE_UNREADABLE', `${pidFile}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (!Number.isSafeInteger(pid) || pid <= 1) throw new CommonError('INVALID_ARGUMENT', `${pidFile} does not hold a process id`);
  try {
    process.kill(pid, 'SIGHUP');
  } catch (e) {
    throw new CliError('RELOAD_FAILED', `process ${pid}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  return pid;
}

function parsePort(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65535)
    throw new CommonError('INVALID_ARGUMENT', `--port must be an integer from 1 to 65535, got "${value}"`);
  return Number(value);
}

const PAIRING_URL_HELP = 'take the CA and CRL from this remote pairing core (default: the local --data directory)';

export function registerPairingBrokerCommands(pairing: Command): void {
  const brokerConfig = pairing
    .command('broker-config')
    .description('write an MQTT broker configuration that authenticates devices by their pairing certificates');

  brokerConfig
    .command('mosquitto')
    .description('mosquitto.conf, acl, ca.pem and crl.pem for a Mosquitto listener with mutual TLS')
    .requiredOption('--realm <realm>', 'realm whose devices connect')
    .option('--out <dir>', 'directory to write to (default: ./mosquitto-<realm>)')
    .option('--port <port>', 'TLS listener port', '8883')
    .option('--bind <address>', 'address to listen on (default: all)')
    .option(
      '--certfile <file>',
      "the broker's own certificate (PEM, from any CA the devices trust)",
      '/etc/mosquitto/certs/server.crt',
    )
    .option('--keyfile <file>', "the broker's private key (PEM)", '/etc/mosquitto/certs/server.key')
    .option('--pairing-url <url>', PAIRING_URL_HELP)
    .option('--data <dir>', DATA_HELP)
    .action(
      async (opts: {
        realm: string;
        out?: string;
        port: string;
        bind?: string;
        certfile: string;
        keyfile: string;
        pairingUrl?: string;
        data?: string;
      }) => {
        const port = parsePort(opts.port);
        const dir = resolve(opts.out ?? `mosquitto-${opts.realm}`);
        const { caPem, crlPem } = await fetchCaAndCrl(opts.realm, opts);
        try {
          mkdirSync(dir, { recursive: true, mode: 0o755 });
        } catch (e) {
          throw new CommonError('FILE_UNWRITABLE', `${dir}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
        }
        const config = mosquittoConfig({
          realm: opts.realm,
          dir,
          port,
          bind: opts.bind,
          certfile: resolve(opts.certfile),
          keyfile: resolve(opts.keyfile),
        });
        writeAtomic(join(dir, 'ca.pem'), caPem);
        writeAtomic(join(dir, 'crl.pem'), crlPem);
        writeAtomic(join(dir, 'acl'), MOSQUITTO_ACL);
        writeAtomic(join(dir, 'mosquitto.conf'), config);
        console.log(`Wrote ${join(dir, 'mosquitto.conf')}, acl, ca.pem and crl.pem`);
        console.log(`Start: mosquitto -c ${join(dir, 'mosquitto.conf')}`);
        const src = opts.pairingUrl ? ` --pairing-url ${opts.pairingUrl}` : opts.data ? ` --data ${resolve(opts.data)}` : '';
        console.log(
          `Keep the CRL fresh (cron): */5 * * * * imprint pairing crl --realm ${opts.realm}${src} --out ${join(dir, 'crl.pem')} --hup /run/mosquitto/mosquitto.pid`,
        );
      },
    );

  pairing
    .command('crl')
    .description("write the realm's current CRL (PEM) atomically, and optionally make the broker reload it")
    .requiredOption('--realm <realm>', 'realm')
    .requiredOption('--out <file>', 'CRL file the broker reads (crlfile)')
    .option('--hup <pidfile>', 'send SIGHUP to the process in this pid file once written (Mosquitto reloads its CRL)')
    .option('--pairing-url <url>', PAIRING_URL_HELP)
    .option('--data <dir>', DATA_HELP)
    .action(async (opts: { realm: string; out: string; hup?: string; pairingUrl?: string; data?: string }) => {
      const { crlPem } = await fetchCaAndCrl(opts.realm, opts);
      const out = resolve(opts.out);
      writeAtomic(out, crlPem);
      const pid = opts.hup ? sendHup(opts.hup) : undefined;
      console.log(`CRL of realm ${opts.realm} written to ${out}${pid ? `; process ${pid} asked to reload` : ''}`);
    });
}
