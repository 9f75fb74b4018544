// astartectl's pairing and utils commands under `imprint`, with astartectl's names, arguments and flags
// (astarte-platform/astartectl cmd/pairing, cmd/utils): a script moves over by changing the program name.
// `pairing agent` works against a remote core (--pairing-url or -u/--astarte-url, token from -t or signed
// with -k) or, with neither, directly on the embedded core in --data DIR.
import { randomUUID } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { decodeJwt } from 'jose';
import { validate as isUuid, v5 as uuidv5 } from 'uuid';
import { CommonError } from '../common/common-errors.ts';
import { isCanonicalDeviceId } from '../common/device-id.ts';
import { checkScopes, generateRealmKeyPair, mintAgentToken, parsePrivateKey } from '../pairing/agent-token.ts';
import { EmbeddedPairingCore } from '../pairing/embedded-core.ts';
import type { IntrospectionEntry, PairingAgentApi } from '../pairing/pairing-api.ts';
import { RemotePairingClient } from '../pairing/remote-client.ts';
import { CliError } from './cli-errors.ts';
import { DATA_HELP, resolveDataDir } from './data-dir.ts';
import { EXIT } from './exit-codes.ts';
import { cliError } from './pairing-cli-errors.ts';

function usage(message: string): never {
  throw new CliError('BAD_USAGE', message);
}

interface AgentOptions {
  realmName?: string;
  realmKey?: string;
  pairingUrl?: string;
  astarteUrl?: string;
  token?: string;
  toCurl?: boolean;
  data?: string;
}

function addAgentOptions(cmd: Command): Command {
  return cmd
    .option('-r, --realm-name <realm>', 'the name of the realm that will be queried')
    .option('-k, --realm-key <file>', 'path to realm private key used to generate JWT for authentication')
    .option('--pairing-url <url>', 'Pairing API base URL. Defaults to <astarte-url>/pairing')
    .option('-u, --astarte-url <url>', 'base url for your Astarte deployment (e.g. https://api.astarte.example.com)')
    .option('-t, --token <token>', 'token for authenticating against the Pairing API (takes precedence over -k)')
    .option('--to-curl', 'display a command-line equivalent instead of running the command')
    .option('--data <dir>', `embedded core when no URL is given: ${DATA_HELP}`);
}

async function agentTarget(o: AgentOptions): Promise<{ realm: string; url?: string; token?: string }> {
  const realm = o.realmName ?? usage('realm is required (-r REALM)');
  const url = o.pairingUrl ?? (o.astarteUrl ? `${o.astarteUrl.replace(/\/+$/, '')}/pairing` : undefined);
  if (!url) {
    if (o.toCurl) usage('--to-curl needs a remote core (--pairing-url or -u)');
    return { realm };
  }
  let token = o.token;
  if (!token && o.realmKey) {
    const { readFileSync } = await import('node:fs');
    let pem: string;
    try {
      pem = readFileSync(o.realmKey, 'utf8');
    } catch {
      throw new CommonError('FILE_UNREADABLE', `the realm key ${o.realmKey}`);
    }
    token = await mintAgentToken({ privateKey: parsePrivateKey(pem), ttlSeconds: 300, scopes: ['.*::.*'] });
  }
  if (!token) usage('a remote core needs -t TOKEN or -k REALM_KEY');
  return { realm, url: url.replace(/\/+$/, ''), token };
}

async function withAgent<T>(
  target: { realm: string; url?: string; token?: string },
  data: string | undefined,
  fn: (api: PairingAgentApi) => Promise<T>,
) {
  const api = target.url
    ? new RemotePairingClient({ baseUrl: target.url, agentToken: target.token })
    : await EmbeddedPairingCore.open({ dataDir: resolveDataDir({ data }) });
  try {
    return await fn(api);
  } catch (e) {
    throw cliError(e, { realm: target.realm });
  } finally {
    await api.close();
  }
}

/** `--initial-introspection name:major:minor` (repeatable): astartectl has a TODO for it, Astarte's API has it. */
function parseIntrospection(entries: string[]): Record<string, IntrospectionEntry> | undefined {
  if (entries.length === 0) return undefined;
  const out: Record<string, IntrospectionEntry> = {};
  for (const e of entries) {
    const m = /^([^:]+):(\d+):(\d+)$/.exec(e);
    if (!m) usage(`--initial-introspection must look like interface.Name:MAJOR:MINOR, got "${e}"`);
    out[m[1]] = { major: Number(m[2]), minor: Number(m[3]) };
  }
  return out;
}

function curl(method: string, url: string, token: string, body?: unknown): string {
  const data = body === undefined ? '' : ` -H 'Content-Type: application/json' -d '${JSON.stringify(body)}'`;
  return `curl -X ${method} '${url}' -H 'Authorization: Bearer ${token}'${data}`;
}

export function registerAstartectlPairingCommands(pairing: Command): void {
  const agent = pairing.command('agent').description('manage device registration (as astartectl pairing agent)');

  addAgentOptions(
    agent
      .command('register <device_id>')
      .description('register a device and print its credentials secret (<device_id>: 128-bit base64url)'),
  )
    .option('--compact-output', 'only the credentials secret is printed to stdout upon success')
    .option(
      '--initial-introspection <name:major:minor>',
      'initial introspection entry (repeatable)',
      (v, p: string[]) => [...p, v],
      [],
    )
    .action(async (deviceId: string, o: AgentOptions & { compactOutput?: boolean; initialIntrospection: string[] }) => {
      if (!isCanonicalDeviceId(deviceId)) usage('invalid device id');
      const initialIntrospection = parseIntrospection(o.initialIntrospection);
      const target = await agentTarget(o);
      if (o.toCurl && target.url) {
        const data = initialIntrospection
          ? { hw_id: deviceId, initial_introspection: initialIntrospection }
          : { hw_id: deviceId };
        console.log(curl('POST', `${target.url}/v1/${target.realm}/agent/devices`, target.token ?? '', { data }));
        return;
      }
      const { credentialsSecret } = await withAgent(target, o.data, (api) =>
        api.registerDevice(target.realm, deviceId, initialIntrospection ? { initialIntrospection } : undefined),
      );
      if (o.compactOutput) {
        console.log(credentialsSecret);
        return;
      }
      console.log(`Device ${deviceId} successfully registered in Realm ${target.realm}.`);
      console.log(`The Device's Credentials Secret is "${credentialsSecret}".`);
      console.log('');
      console.log("Please don't share the Credentials Secret, and ensure it is transferred securely to your Device.");
      console.log(
        "Once the Device pairs for the first time, the Credentials Secret will be associated permanently to the Device and it won't be changeable anymore.",
      );
    });

  addAgentOptions(agent.command('unregister <device_id>').description('unregister a device, so that it can be registered again'))
    .option('-y, --non-interactive', 'non-interactive mode: answer yes to all questions')
    .action(async (deviceId: string, o: AgentOptions & { nonInteractive?: boolean }) => {
      if (!isCanonicalDeviceId(deviceId)) usage('invalid device id');
      const target = await agentTarget(o);
      if (o.toCurl && target.url) {
        console.log(curl('DELETE', `${target.url}/v1/${target.realm}/agent/devices/${deviceId}`, target.token ?? ''));
        return;
      }
      console.log(`Will unregister device ${deviceId} from realm ${target.realm}.`);
      if (!o.nonInteractive) {
        const rl = createInterface({ input: process.stdin, output: process.stdout });
        const answer = await rl.question('Do you want to continue? [y/n] ').catch(() => '');
        rl.close();
        if (!/^y(es)?$/i.test(answer.trim())) return;
      }
      await withAgent(target, o.data, (api) => api.unregisterDevice(target.realm, deviceId));
      console.log('ok');
    });
}

const JWT_TYPES: Record<string, string> = {
  appengine: 'a_aea',
  channels: 'a_ch',
  flow: 'a_f',
  housekeeping: 'a_ha',
  pairing: 'a_pa',
  'realm-management': 'a_rma',
};

export function registerAstartectlUtilsCommands(program: Command): void {
  const utils = program.command('utils').description('key pairs, device ids and JWTs (as astartectl utils)');

  utils
    .command('gen-keypair <realm_name>')
    .description('generate an ECDSA P-256 key pair: <realm_name>_private.pem (0600) and <realm_name>_public.pem')
    .action((realm: string) => {
      const keys = generateRealmKeyPair();
      console.log('Keypair generated successfully');
      const privatePem = parsePrivateKey(keys.privateKeyPem).export({ type: 'sec1', format: 'pem' }).toString();
      for (const [file, pem, mode] of [
        [`${realm}_private.pem`, privatePem, 0o600],
        [`${realm}_public.pem`, keys.publicKeyPem, 0o644],
      ] as const) {
        try {
          writeFileSync(file, pem, { mode });
          chmodSync(file, mode);
        } catch (e) {
          throw new CommonError('FILE_UNWRITABLE', `${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
        }
        console.log(`Wrote ${file}`);
      }
    });

  utils
    .command('gen-jwt <type...>')
    .description(`generate a signed JWT for API sets: ${[...Object.keys(JWT_TYPES), 'all-realm-apis'].join(', ')}`)
    .option('-k, --private-key <file>', 'path to PEM encoded private key (the realm key)')
    .option(
      '-c, --claims <claims>',
      'claims, repeatable or comma separated; "<type>:<claim>" for one API set (default: all access)',
      (v, p: string[]) => [...p, ...v.split(',')],
      [],
    )
    .option('-e, --expiry <seconds>', 'expiration time of the token in seconds, 0: never', '28800')
    .action(async (types: string[], o: { privateKey?: string; claims: string[]; expiry: string }) => {
      let sets = types;
      if (types.includes('all-realm-apis')) {
        if (types.length !== 1) usage('when specifying all-realm-apis, no other types can be specified');
        sets = ['appengine', 'channels', 'flow', 'pairing', 'realm-management'];
      }
      for (const t of sets) if (!JWT_TYPES[t]) usage(`invalid type. Valid types are: ${Object.keys(JWT_TYPES).join(', ')}`);
      if (sets.includes('housekeeping') && sets.length > 1) usage('conflicting API types specified');
      if (!/^\d+$/.test(o.expiry)) usage('--expiry must be a number of seconds');
      if (!o.privateKey) usage('private key not provided (-k FILE)');
      const claims: Record<string, string[]> = {};
      for (const t of sets) claims[JWT_TYPES[t]] = [];
      for (const c of o.claims) {
        const prefix = Object.keys(JWT_TYPES).find((t) => c.startsWith(`${t}:`));
        const targets = prefix ? [prefix] : sets;
        for (const t of targets) {
          const key = JWT_TYPES[t];
          claims[key] = [...(claims[key] ?? []), prefix ? c.slice(prefix.length + 1) : c];
        }
      }
      for (const [k, v] of Object.entries(claims))
        if (v.length === 0) claims[k] = k === 'a_ch' ? ['JOIN::.*', 'WATCH::.*'] : ['.*::.*'];
      if (claims.a_pa) {
        try {
          checkScopes(claims.a_pa);
        } catch (e) {
          process.exitCode = EXIT.USAGE;
          throw e;
        }
      }
      const { readFileSync } = await import('node:fs');
      let pem: string;
      try {
        pem = readFileSync(o.privateKey, 'utf8');
      } catch {
        throw new CommonError('FILE_UNREADABLE', `the private key ${o.privateKey}`);
      }
      console.log(await mintAgentToken({ privateKey: parsePrivateKey(pem), claims, ttlSeconds: Number(o.expiry) }));
    });

  utils
    .command('show-jwt-claims <token>')
    .description("show an Astarte JWT's claims (without verifying it)")
    .action((token: string) => {
      try {
        console.log(JSON.stringify(decodeJwt(token), null, 4));
      } catch {
        usage('not a JWT');
      }
    });

  const deviceId = utils.command('device-id').description('various operations on device ids');
  deviceId
    .command('validate <device_id>')
    .description('checks whether the provided string is a valid device id')
    .action((id: string) => {
      if (!isCanonicalDeviceId(id)) {
        process.exitCode = 1;
        console.error(`${id} is not a valid Astarte Device ID`);
        return;
      }
      console.log('Valid');
    });
  deviceId
    .command('generate-random')
    .description('outputs a valid, random device id')
    .action(() => console.log(Buffer.from(randomUUID().replace(/-/g, ''), 'hex').toString('base64url')));
  const fromUuid = (u: string) => Buffer.from(u.replace(/-/g, ''), 'hex').toString('base64url');
  const namespace = (ns: string) => (isUuid(ns) ? ns : usage(`invalid UUID namespace "${ns}"`));
  deviceId
    .command('compute-from-string <namespace_uuid> <string_data>')
    .description('deterministic device id: UUIDv5(namespace, string) in base64url')
    .action((ns: string, data: string) => console.log(fromUuid(uuidv5(data, namespace(ns)))));
  deviceId
    .command('compute-from-bytes <namespace_uuid> <base64_encoded_data>')
    .description('deterministic device id: UUIDv5(namespace, bytes given in standard Base64)')
    .action((ns: string, b64: string) => {
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) usage('the data must be standard Base64');
      console.log(fromUuid(uuidv5(Buffer.from(b64, 'base64'), namespace(ns))));
    });
  deviceId
    .command('to-uuid <device_id>')
    .description('prints the UUID representation of a device id')
    .action((id: string) => {
      if (!isCanonicalDeviceId(id)) {
        process.exitCode = 1;
        console.error(`${id} is not a valid Astarte Device ID`);
        return;
      }
      const h = Buffer.from(id, 'base64url').toString('hex');
      console.log(`${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`);
    });
  deviceId
    .command('from-uuid <uuid>')
    .description('prints the device id representation of the given UUID')
    .action((u: string) => {
      if (!isUuid(u)) {
        process.exitCode = 1;
        console.error(`${u} is not a valid UUID`);
        return;
      }
      console.log(fromUuid(u));
    });
}
