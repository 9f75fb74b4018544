// /sign's refusal pre-read (is the UUID already registered, is its device id taken?) on a pairing
// database of N /sign registrations: the store's one statement (SIGN_REFUSAL_SQL) against the form it
// replaced, two `SELECT *` reads in a read transaction. CPU per read, µs, for a new UUID (the usual
// case) and a registered one, alternating, medians of the rounds.
//   node --import tsx bench/sign-refusal-read.bench.ts [--devices 5000] [--reads 20000] [--rounds 5]
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { generateRealmKeyPair } from '../src/pairing/agent-token.ts';
import { EmbeddedPairingCore } from '../src/pairing/embedded-core.ts';
import { SignService } from '../src/pairing/foundries/sign-service.ts';
import { SIGN_REFUSAL_SQL } from '../src/pairing/store/sqlite-signs.ts';
import { PAIRING_SQLITE_FILE } from '../src/pairing/store/sqlite-store.ts';
import { foundriesSignBody } from './fresh-connection-load.ts';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '5000' },
    reads: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
  },
});
const DEVICES = Number(values.devices);
const READS = Number(values.reads);
const FACTORY = 'bench-plant';

const dir = mkdtempSync(join(tmpdir(), 'imprint-refusal-read-'));
try {
  process.stdout.write(`registering ${DEVICES} devices through /sign… `);
  const core = await EmbeddedPairingCore.open({ dataDir: dir });
  await core.createRealm({ name: 'fio', publicKeyPem: generateRealmKeyPair().publicKeyPem, factory: FACTORY });
  const sign = await SignService.open(core, { realm: 'fio' });
  const uuids: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < DEVICES) {
        next++;
        const uuid = randomUUID();
        await sign.signText(foundriesSignBody(uuid, FACTORY));
        uuids.push(uuid);
      }
    }),
  );
  await core.close();
  console.log('done');

  const db = new Database(join(dir, PAIRING_SQLITE_FILE), { readonly: true });
  const deviceIdOf = (uuid: string) => Buffer.from(uuid.replaceAll('-', ''), 'hex').toString('base64url');
  // The replaced form: both whole rows, in one read transaction.
  const getRecord = db.prepare('SELECT * FROM sign_registrations WHERE realm = ? AND uuid = ?');
  const getDevice = db.prepare('SELECT * FROM devices WHERE realm = ? AND device_id = ?');
  const twoReads = db.transaction((realm: string, uuid: string, deviceId: string) => [
    getRecord.get(realm, uuid),
    getDevice.get(realm, deviceId) !== undefined,
  ]);
  const oneRead = db.prepare(SIGN_REFUSAL_SQL).raw();
  const forms = {
    'two reads in a transaction': (u: string, d: string) => twoReads('fio', u, d),
    'one statement (the store)': (u: string, d: string) => oneRead.get('fio', d, 'fio', u),
  };
  const fresh = Array.from({ length: READS }, () => randomUUID());
  const known = Array.from({ length: READS }, (_, i) => uuids[i % uuids.length]);
  const cases = { 'new UUID': fresh, 'registered UUID': known };
  const results = new Map<string, number[]>();
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const [c, list] of Object.entries(cases)) {
      for (const [f, read] of Object.entries(forms)) {
        const ids = list.map(deviceIdOf);
        const before = process.cpuUsage();
        for (let i = 0; i < list.length; i++) read(list[i], ids[i]);
        const used = process.cpuUsage(before);
        const key = `${c}|${f}`;
        results.set(key, [...(results.get(key) ?? []), (used.user + used.system) / list.length]);
      }
    }
  }
  db.close();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(
    `\n${READS} reads per form and round, ${DEVICES} registrations in the database, medians of ${values.rounds} rounds`,
  );
  for (const c of Object.keys(cases)) {
    const old = median(results.get(`${c}|two reads in a transaction`) ?? []);
    const now = median(results.get(`${c}|one statement (the store)`) ?? []);
    console.log(
      `${c.padEnd(16)} two reads in a transaction ${old.toFixed(2)} µs, one statement ${now.toFixed(2)} µs: ${(now / old).toFixed(2)}×`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
