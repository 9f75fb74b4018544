// Offline batch import and the central audit (issue 6), under the agent scope: a station pushes the
// registrations it made offline (secret hashes, never secrets) and its audit events; QA queries the
// events of every station. Authorised by the agent JWT (`a_pa`), like the rest of the agent API (attached
// to every non-public route by route-access.ts).
import { type Static, Type } from 'typebox';
import type { AuditEvent } from '../../audit/audit-types.ts';
import { AuditChainError, type CentralAudit, MAX_CENTRAL_QUERY_LIMIT } from '../import/central-audit.ts';
import type { DeviceImportService } from '../import/import-service.ts';
import { PairingError } from '../pairing-errors.ts';
import { HTTP_ANSWERS } from './error-replies.ts';
import type { PairingFastify, RouteContext } from './route-context.ts';
import { ErrorReplies, errorReply, RealmParams } from './schemas.ts';
import { registerStationRoutes, type StationApi } from './station-routes.ts';

export interface ImportApi extends StationApi {
  devices: Pick<DeviceImportService, 'importDevices' | 'conflicts' | 'resolve'>;
  audit: Pick<CentralAudit, 'importEvents' | 'head' | 'heads' | 'query' | 'queryPage'>;
}

/** Per request: a chunk of a sync, not a whole batch (the client sends several). */
export const MAX_IMPORT_DEVICES = 5_000;
export const MAX_IMPORT_EVENTS = 10_000;
const IMPORT_BODY_LIMIT = 16 * 1024 * 1024;

const { 400: e400, 401: e401, 403: e403, 404: e404, 422: e422 } = ErrorReplies;
const agentErrors = { 400: e400, 401: e401, 403: e403, 404: e404, 422: e422 };
const importErrors = {
  ...agentErrors,
  403: errorReply(
    'Forbidden: unknown realm, token scope (`a_pa`) mismatch, or STATION_NOT_ENROLLED (the station is not enrolled)',
  ),
};

const Station = Type.String({ minLength: 1, maxLength: 128, description: "The sending station's id." });

const ImportedDeviceSchema = Type.Object(
  {
    device_id: Type.String({ minLength: 1, description: 'Device id (22-character base64url).' }),
    secret_hash: Type.String({
      minLength: 1,
      description:
        'Self-describing hash of the credentials secret (`$imprint-sha256$v=1$…` or bcrypt `$2b$…`). Never the secret.',
    }),
    registered_at: Type.String({ minLength: 1, description: 'ISO 8601: when the station registered the device offline.' }),
    operator: Type.Optional(Type.String({ maxLength: 128 })),
    hardware_serial: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: false },
);

export const DeviceImportBody = Type.Object({
  data: Type.Object(
    {
      station: Station,
      batch: Type.String({ minLength: 1, maxLength: 128, description: 'The offline batch the devices were registered under.' }),
      devices: Type.Array(ImportedDeviceSchema, { maxItems: MAX_IMPORT_DEVICES }),
    },
    { title: 'DeviceImportRequest' },
  ),
});

const DeviceImportResultSchema = Type.Object({
  device_id: Type.String(),
  result: Type.Union([Type.Literal('imported'), Type.Literal('already_present'), Type.Literal('conflict')]),
  reason: Type.Optional(
    Type.String({ description: 'Why a conflict: registered elsewhere with another secret, already confirmed, limit.' }),
  ),
});

export const DeviceImportReply = Type.Object(
  {
    data: Type.Object(
      {
        results: Type.Array(DeviceImportResultSchema),
        imported: Type.Integer(),
        already_present: Type.Integer(),
        conflicts: Type.Integer(),
      },
      { title: 'DeviceImportResponse' },
    ),
  },
  { description: 'One result per device, in request order' },
);

const HeldBySchema = Type.Union([
  Type.Object(
    {
      station: Type.Union([Type.String(), Type.Null()]),
      batch: Type.Union([Type.String(), Type.Null()]),
      registered_at: Type.Union([Type.String(), Type.Null()]),
      source: Type.Union([Type.Literal('online'), Type.Literal('import')]),
    },
    { description: "The registration this core holds: another station's import, or an online registration" },
  ),
  Type.Null(),
]);

const ConflictSchema = Type.Object({
  station: Type.String({ description: 'The station that registered the device offline' }),
  device_id: Type.String(),
  batch: Type.String({ description: "The station's offline batch" }),
  operator: Type.Optional(Type.String()),
  hardware_serial: Type.Union([Type.String(), Type.Null()]),
  registered_at: Type.String({ description: 'When the station registered the device offline' }),
  reason: Type.Optional(Type.String()),
  held_by: HeldBySchema,
  resolve: Type.String({ description: 'The command that resolves it (scope POST::agent/imports/conflicts/.*)' }),
});

/** The one command that resolves a conflict (the station side's CLI). */
const resolveCommand = (deviceId: string) => `imprint sync resolve ${deviceId} --keep core|station`;

const ConflictsReply = Type.Object(
  { data: Type.Object({ conflicts: Type.Array(ConflictSchema) }, { title: 'ImportConflicts' }) },
  { description: 'Devices a station registered offline that this core refused (never overwritten)' },
);

// Events exactly as the station chained them (see docs/audit-trail.md); extra members are ignored.
const ChainedEvent = Type.Object(
  {
    seq: Type.Integer({ minimum: 1 }),
    prevHash: Type.String(),
    hash: Type.String(),
    ts: Type.String(),
    station: Type.String(),
    step: Type.String(),
    outcome: Type.String(),
  },
  { additionalProperties: true },
);

export const AuditImportBody = Type.Object({
  data: Type.Object(
    {
      station: Station,
      events: Type.Array(ChainedEvent, { maxItems: MAX_IMPORT_EVENTS }),
    },
    { title: 'AuditImportRequest' },
  ),
});

const ChainHeadData = Type.Object(
  {
    station: Type.String(),
    accepted_up_to: Type.Integer({ description: "Seq of the last event of the station's chain this core holds (0: none)." }),
    last_hash: Type.String(),
  },
  { title: 'StationChainHead' },
);

const ChainHeadReply = Type.Object({ data: ChainHeadData }, { description: "What this core holds of the station's chain" });

const ChainRefusedReply = (description: string) =>
  Type.Object(
    {
      errors: Type.Object({
        detail: Type.String(),
        seq: Type.Integer({ description: 'Where the chain broke: the first event that was refused or is missing.' }),
        refusal: Type.String({ description: 'gap, differs, broken-link, tampered or malformed' }),
        accepted_up_to: Type.Integer(),
      }),
    },
    { title: 'AuditChainRefused', description },
  );

const StationParams = Type.Object({ realm: Type.String(), station: Type.String() });

const CentralQuery = Type.Object({
  station: Type.Optional(Type.String()),
  device_id: Type.Optional(Type.String()),
  hardware_serial: Type.Optional(Type.String()),
  batch_id: Type.Optional(Type.String()),
  operator: Type.Optional(Type.String()),
  step: Type.Optional(Type.String()),
  outcome: Type.Optional(Type.Union([Type.Literal('ok'), Type.Literal('fail'), Type.Literal('info')])),
  from: Type.Optional(Type.String({ description: 'ISO 8601, inclusive' })),
  to: Type.Optional(Type.String({ description: 'ISO 8601, inclusive' })),
  from_seq: Type.Optional(
    Type.String({ pattern: '^[0-9]{1,15}$', description: "Inclusive; with `station`, pages through one station's chain" }),
  ),
  to_seq: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'Inclusive' })),
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,5}$', description: `1 to ${MAX_CENTRAL_QUERY_LIMIT}, default 100` })),
  cursor: Type.Optional(
    Type.String({ pattern: '^[A-Za-z0-9_-]{1,1024}$', description: 'The next_cursor of the previous page (same filters)' }),
  ),
});

const EventsReply = Type.Object(
  {
    data: Type.Object(
      {
        events: Type.Array(Type.Record(Type.String(), Type.Unknown())),
        stations: Type.Array(ChainHeadData),
        next_cursor: Type.Optional(Type.String({ description: 'Present when older events match: pass it as `cursor`' })),
      },
      { title: 'CentralAuditEvents' },
    ),
  },
  { description: 'Events of every station, newest first, and the chain head of each station' },
);

const notEnabled = () => new PairingError('NOT_ENABLED');

export function registerImportRoutes(app: PairingFastify, _ctx: RouteContext, imports: ImportApi | undefined): void {
  const api = (): ImportApi =>
    imports ??
    (() => {
      throw notEnabled();
    })();

  app.post(
    '/v1/:realm/agent/imports/devices',
    {
      bodyLimit: IMPORT_BODY_LIMIT,
      schema: {
        tags: ['imports'],
        operationId: 'importDevices',
        summary: 'Import devices a station registered offline',
        description:
          "Registrations a station made in its embedded core while this core was unreachable: device id, secret hash (never the secret), time, operator. Idempotent per device: `imported` (now registered here: the device's flashed secret works as if registered online), `already_present` (same hash already here, e.g. a re-sent chunk), `conflict` (registered here with another secret, or already confirmed, or the realm limit: never overwritten; listed by GET …/imports/conflicts). Each request is one transaction.",
        security: [{ JWT: [] }],
        params: RealmParams,
        body: DeviceImportBody,
        response: { 200: DeviceImportReply, ...importErrors },
      },
    },
    async (req) => {
      const { station, batch, devices } = req.body.data;
      const outcomes = await api().devices.importDevices({
        realm: req.params.realm,
        station,
        batch,
        devices: devices.map((d) => ({
          deviceId: d.device_id,
          secretHash: d.secret_hash,
          registeredAt: d.registered_at,
          operator: d.operator,
          hardwareSerial: d.hardware_serial,
        })),
      });
      const count = (r: string) => outcomes.filter((o) => o.result === r).length;
      return {
        data: {
          results: outcomes.map((o) => ({ device_id: o.deviceId, result: o.result, reason: o.reason })),
          imported: count('imported'),
          already_present: count('already_present'),
          conflicts: count('conflict'),
        },
      };
    },
  );

  app.get(
    '/v1/:realm/agent/imports/conflicts',
    {
      schema: {
        tags: ['imports'],
        operationId: 'listImportConflicts',
        summary: 'Devices refused on import, for QA',
        security: [{ JWT: [] }],
        params: RealmParams,
        querystring: Type.Object({ station: Type.Optional(Type.String()) }),
        response: { 200: ConflictsReply, ...agentErrors },
      },
    },
    async (req) => {
      const rows = await api().devices.conflicts(req.params.realm, req.query.station);
      return {
        data: {
          conflicts: rows.map((r) => ({
            station: r.station,
            device_id: r.deviceId,
            batch: r.batch,
            operator: r.operator,
            hardware_serial: r.hardwareSerial ?? null,
            registered_at: r.registeredAt,
            reason: r.reason,
            held_by: r.heldBy
              ? {
                  station: r.heldBy.station,
                  batch: r.heldBy.batch,
                  registered_at: r.heldBy.registeredAt,
                  source: r.heldBy.source,
                }
              : null,
            resolve: resolveCommand(r.deviceId),
          })),
        },
      };
    },
  );

  app.post(
    '/v1/:realm/agent/imports/audit',
    {
      bodyLimit: IMPORT_BODY_LIMIT,
      schema: {
        tags: ['imports'],
        operationId: 'importAuditEvents',
        summary: "Append a station's audit events to the central audit",
        description:
          'Events in ascending seq, exactly as the station chained them. Verified on arrival: contiguous with what this core holds, each linked to the previous one, each hash recomputed. Events already held are accepted again when identical (a re-sent chunk). All or nothing: a refused request stores none of its events and answers where the chain broke (`seq`): 409 for a gap or an event that differs from the one already held, 422 for a broken link or changed content.',
        security: [{ JWT: [] }],
        params: RealmParams,
        body: AuditImportBody,
        response: {
          200: ChainHeadReply,
          ...importErrors,
          409: ChainRefusedReply('A gap, or an event that differs from the one already received'),
          422: ChainRefusedReply(
            'A broken link or a changed event, a batch summary that does not verify under the enrolled key (AUDIT_SIGNATURE_INVALID), or per-field errors',
          ),
        },
      },
    },
    async (req, reply) => {
      const { station, events } = req.body.data;
      try {
        const head = await api().audit.importEvents(req.params.realm, station, events as unknown as AuditEvent[]);
        return { data: { station, accepted_up_to: head.lastSeq, last_hash: head.lastHash } };
      } catch (e) {
        if (!(e instanceof AuditChainError)) throw e;
        return reply
          .code(HTTP_ANSWERS[e.code].status)
          .header('x-imprint-error', e.code)
          .send({ errors: { detail: e.message, seq: e.seq, refusal: e.refusal, accepted_up_to: e.acceptedUpTo } });
      }
    },
  );

  app.get(
    '/v1/:realm/agent/imports/audit/:station',
    {
      schema: {
        tags: ['imports'],
        operationId: 'getStationChainHead',
        summary: "What this core holds of a station's chain (where a sync resumes)",
        security: [{ JWT: [] }],
        params: StationParams,
        response: { 200: ChainHeadReply, ...agentErrors },
      },
    },
    async (req) => {
      const h = await api().audit.head(req.params.realm, req.params.station);
      return { data: { station: h.station, accepted_up_to: h.lastSeq, last_hash: h.lastHash } };
    },
  );

  app.get(
    '/v1/:realm/agent/audit/events',
    {
      schema: {
        tags: ['imports'],
        operationId: 'queryCentralAudit',
        summary: 'Query the audit events of every station',
        security: [{ JWT: [] }],
        params: RealmParams,
        querystring: CentralQuery,
        response: { 200: EventsReply, ...agentErrors },
      },
    },
    async (req) => {
      const q = req.query as Static<typeof CentralQuery>;
      const { events, nextCursor } = await api().audit.queryPage(req.params.realm, {
        station: q.station,
        deviceId: q.device_id,
        hardwareSerial: q.hardware_serial,
        batchId: q.batch_id,
        operator: q.operator,
        step: q.step,
        outcome: q.outcome,
        from: q.from,
        to: q.to,
        fromSeq: q.from_seq === undefined ? undefined : Number(q.from_seq),
        toSeq: q.to_seq === undefined ? undefined : Number(q.to_seq),
        limit: q.limit === undefined ? undefined : Number(q.limit),
        cursor: q.cursor,
      });
      const stations = (await api().audit.heads(req.params.realm)).map((h) => ({
        station: h.station,
        accepted_up_to: h.lastSeq,
        last_hash: h.lastHash,
      }));
      const page = { events: events as unknown as Record<string, unknown>[], stations };
      return { data: nextCursor ? { ...page, next_cursor: nextCursor } : page };
    },
  );

  registerStationRoutes(app, api);
}
