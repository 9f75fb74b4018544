// The station's configuration file (`<data>/station.json`, or any file given to `--config`):
// schema, defaults, load and save. The agent token never lives here: it comes from the
// SecretStore, `--agent-token` or IMPRINT_AGENT_TOKEN.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { type Static, Type } from 'typebox';
import { Value } from 'typebox/value';
import { DEFAULT_DEVICE_ID_NAMESPACE } from '../common/device-id.ts';
import { writePrivateFile } from '../common/private-fs.ts';
import { DeviceIdRuleSchema } from './device-id-rule.ts';
import { PairingModeSchema, RemoteCapabilitiesSchema, type StoredCapabilities } from './pairing-mode.ts';
import { PLANT_CONFIG_MEMBERS, UsbIdentitySchema } from './plant-config.ts';
import { StationError } from './station-errors.ts';
import type { StationSettings } from './station-types.ts';

export const FixtureSettingsSchema = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 64 }),
    devicePort: Type.String({ minLength: 1 }),
    scannerPort: Type.Optional(Type.String({ minLength: 1 })),
    baudRate: Type.Optional(Type.Integer({ minimum: 1200, maximum: 4_000_000 })),
    /** Matched by USB identity (src/serial/usb-match.ts); devicePort is then the last path seen. */
    usb: Type.Optional(UsbIdentitySchema),
  },
  { additionalProperties: false },
);

export const StationConfigSchema = Type.Object(
  {
    stationId: Type.String({ minLength: 1, maxLength: 128 }),
    realm: Type.String({ pattern: '^[a-z][a-z0-9]{0,47}$' }),
    pairing: Type.Object(
      {
        mode: PairingModeSchema,
        url: Type.Optional(Type.String({ pattern: '^https?://' })),
        /** What the remote core said it can do, per URL + realm (src/sync/remote-capabilities.ts). */
        capabilities: Type.Optional(RemoteCapabilitiesSchema),
      },
      { additionalProperties: false },
    ),
    deviceIdRule: DeviceIdRuleSchema,
    fixtures: Type.Array(FixtureSettingsSchema),
    simulatedFixtures: Type.Integer({ minimum: 0, maximum: 64 }),
    /** Written into each device's provisioning config: the URL devices reach pairing on. */
    pairingUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
    /** Written into each device's provisioning config when set. */
    brokerUrl: Type.Optional(Type.String({ minLength: 1 })),
    /** When true, a fixture with a scanner waits for a scan before each device. Default true. */
    requireScan: Type.Optional(Type.Boolean()),
    ...PLANT_CONFIG_MEMBERS,
  },
  { additionalProperties: false },
);

export type StationConfig = Static<typeof StationConfigSchema>;

export const DEFAULT_REALM = 'imprint';
export const DEFAULT_PAIRING_URL = 'http://localhost:4003';

/** The host part of a station id: `station-<host name>` (what every station was called before ids had a suffix). */
export function hostStationId(): string {
  return `station-${hostname()
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')}`;
}

/**
 * The station id of a data folder: the one in its station.json; else one made once and stored there,
 * the host name plus a random suffix, so two hosts with the same name never share an id. A data
 * folder that already has an audit trail but no stored id keeps the host-name id its trail carries.
 */
export function stationIdOf(dataDir: string): string {
  const file = stationConfigPath(dataDir);
  let raw: Record<string, unknown> | undefined;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    raw = undefined;
  }
  if (raw && typeof raw.stationId === 'string' && raw.stationId) return raw.stationId;
  const id = existsSync(join(dataDir, 'audit.db')) ? hostStationId() : `${hostStationId()}-${randomBytes(3).toString('hex')}`;
  // Stored where the station keeps its settings; a folder that does not exist yet (or cannot be
  // written) gets it when the station first writes there.
  if (existsSync(dataDir)) {
    try {
      writePrivateFile(file, `${JSON.stringify({ ...(raw && typeof raw === 'object' ? raw : {}), stationId: id }, null, 2)}\n`);
    } catch {}
  }
  return id;
}

/** Remember what the remote core said it can do (station.json `pairing.capabilities`). */
export function rememberCapabilities(dataDir: string, capabilities: StoredCapabilities): void {
  const file = stationConfigPath(dataDir);
  const config = loadStationConfig(file, { dataDir });
  config.pairing.capabilities = capabilities;
  saveStationConfig(file, config);
}

export function defaultStationConfig(): StationConfig {
  return {
    stationId: hostStationId(),
    realm: DEFAULT_REALM,
    pairing: { mode: 'embedded' },
    deviceIdRule: { kind: 'uuidv5', namespace: DEFAULT_DEVICE_ID_NAMESPACE },
    fixtures: [],
    simulatedFixtures: 0,
  };
}

export function stationConfigPath(dataDir: string): string {
  return join(dataDir, 'station.json');
}

/** Validate a parsed config; the error lists every bad field by path. */
export function parseStationConfig(value: unknown, source = 'station config'): StationConfig {
  if (!Value.Check(StationConfigSchema, value)) {
    const problems = [...Value.Errors(StationConfigSchema, value)]
      .filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'boolean')
      .slice(0, 8)
      .map((e) => `${e.instancePath || '/'} ${e.message}`);
    throw new StationError('BAD_CONFIG', `${source}: ${problems.join('; ')}`);
  }
  const ids = new Set<string>();
  for (const f of value.fixtures) {
    if (ids.has(f.id)) throw new StationError('BAD_CONFIG', `${source}: fixture id "${f.id}" is used twice`);
    ids.add(f.id);
  }
  if (value.pairing.mode !== 'embedded' && !value.pairing.url) {
    throw new StationError('BAD_CONFIG', `${source}: pairing.url is required when pairing.mode is ${value.pairing.mode}`);
  }
  return value;
}

/**
 * Load a config file; a missing file yields the defaults (merged with nothing). Without a station id
 * of its own, the station id is the data folder's (`dataDir`, default: the file's folder; stationIdOf).
 */
export function loadStationConfig(file: string, opts: { mustExist?: boolean; dataDir?: string } = {}): StationConfig {
  if (!existsSync(file)) {
    if (opts.mustExist) throw new StationError('BAD_CONFIG', `config file not found: ${file}`);
    return { ...defaultStationConfig(), stationId: stationIdOf(opts.dataDir ?? dirname(file)) };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new StationError('BAD_CONFIG', `${file} is not valid JSON: ${(e as Error).message}`);
  }
  // Missing keys take their defaults so a hand-written file can stay short.
  const merged =
    parsed && typeof parsed === 'object'
      ? {
          ...defaultStationConfig(),
          ...('stationId' in parsed ? {} : { stationId: stationIdOf(opts.dataDir ?? dirname(file)) }),
          ...(parsed as object),
        }
      : parsed;
  return parseStationConfig(merged, `config file ${file}`);
}

/** Save atomically (write a temp file, then rename) so a crash never leaves half a config. */
export function saveStationConfig(file: string, config: StationConfig): void {
  parseStationConfig(config);
  writePrivateFile(file, `${JSON.stringify(config, null, 2)}\n`);
}

/** The settings view the station API shows (agent token masked by the caller). */
export function toStationSettings(config: StationConfig, maskedAgentToken?: string): StationSettings {
  return {
    stationId: config.stationId,
    realm: config.realm,
    pairing: { mode: config.pairing.mode, url: config.pairing.url, agentToken: maskedAgentToken },
    deviceIdRule: config.deviceIdRule,
    fixtures: config.fixtures.map((f) => ({ ...f })),
    simulatedFixtures: config.simulatedFixtures,
    allowStartWithoutBatch: config.allowStartWithoutBatch === true,
    labelPrinter: config.labelPrinter,
    labelTemplate: config.labelTemplate,
    postPassHook: config.postPassHook,
  };
}
