// Enrolled stations and conflict resolution (issue 12, docs/sync.md), beside the import routes: the
// capability a station probes before it registers offline, plant IT's enrolment of a station's
// batch-signing key, each station's verified chain, and QA's resolution of an import conflict.
// Agent JWT like every agent route; each has its own `a_pa` scope (a station's sync token is not enough).
import { Type } from 'typebox';
import type { DeviceImportService } from '../import/import-service.ts';
import type { StationRegistry, StationStatus } from '../import/station-registry.ts';
import { PairingError } from '../pairing-errors.ts';
import type { PairingFastify } from './route-context.ts';
import { ErrorReplies, errorReply, RealmParams } from './schemas.ts';

export interface StationApi {
  devices: Pick<DeviceImportService, 'resolve'>;
  stations: Pick<StationRegistry, 'enrol' | 'list' | 'get'>;
}

const { 400: e400, 401: e401, 403: e403, 404: e404, 422: e422 } = ErrorReplies;
const agentErrors = { 400: e400, 401: e401, 403: e403, 404: e404, 422: e422 };
const Station = Type.String({ minLength: 1, maxLength: 128, description: "The station's id." });
const StationParams = Type.Object({ realm: Type.String(), station: Type.String() });

/** What a station probes before it may register offline (docs/sync.md): version 1 of the import API. */
export const IMPORT_CAPABILITIES = {
  offline_imports: true,
  station_enrolment: true,
  signed_batches: true,
  version: 1,
} as const;

const ResolveBody = Type.Object({
  data: Type.Object(
    {
      keep: Type.Union([Type.Literal('core'), Type.Literal('station')]),
      station: Station,
    },
    { title: 'ResolveConflictRequest' },
  ),
});

const ResolveReply = Type.Object(
  {
    data: Type.Object(
      {
        device_id: Type.String(),
        station: Type.String(),
        keep: Type.String(),
        result: Type.String({ description: '`dropped` (the core kept its registration) or `imported`' }),
        advice: Type.String(),
      },
      { title: 'ResolvedConflict' },
    ),
  },
  { description: 'The conflict is resolved, and audited' },
);

const CapabilitiesReply = Type.Object(
  {
    data: Type.Object(
      {
        offline_imports: Type.Boolean(),
        station_enrolment: Type.Boolean(),
        signed_batches: Type.Boolean(),
        version: Type.Integer(),
      },
      { title: 'ImportCapabilities' },
    ),
  },
  { description: 'This core accepts offline registrations from enrolled stations (a core without the import API answers 404)' },
);

const EnrolBody = Type.Object({
  data: Type.Object(
    {
      station_id: Station,
      public_key: Type.String({
        minLength: 1,
        maxLength: 128,
        description: "Base64 of the station's raw 32-byte Ed25519 batch-signing public key",
      }),
      key_id: Type.Optional(
        Type.String({ maxLength: 64, description: "The station's key id as its trail records it (`ed25519:` + 16 hex)" }),
      ),
    },
    { title: 'StationEnrolmentRequest' },
  ),
});

const EnrolledData = Type.Object(
  { station_id: Type.String(), key_id: Type.String(), enrolled_at: Type.String() },
  { title: 'EnrolledStation' },
);

const StationStatusData = Type.Object(
  {
    station_id: Type.String(),
    key_id: Type.String(),
    public_key: Type.String({ description: 'Base64 DER SubjectPublicKeyInfo' }),
    enrolled_at: Type.String(),
    chain: Type.Object({
      accepted_up_to: Type.Integer(),
      last_hash: Type.String(),
      verified: Type.Boolean({ description: 'The chain held here is whole and linked' }),
      signatures_verified: Type.Boolean({ description: 'Every batch summary held verifies under the enrolled key' }),
      reason: Type.Optional(Type.String()),
    }),
  },
  { title: 'StationStatus' },
);

const stationStatusJson = (s: StationStatus) => ({
  station_id: s.station,
  key_id: s.keyId,
  public_key: s.publicKey,
  enrolled_at: s.enrolledAt,
  chain: {
    accepted_up_to: s.chain.acceptedUpTo,
    last_hash: s.chain.lastHash,
    verified: s.chain.verified,
    signatures_verified: s.chain.signaturesVerified,
    reason: s.chain.reason,
  },
});

/** `api()` is the import API, or NOT_ENABLED (404) on a server without one. */
export function registerStationRoutes(app: PairingFastify, api: () => StationApi): void {
  app.get(
    '/v1/:realm/agent/imports/capabilities',
    {
      schema: {
        tags: ['imports'],
        operationId: 'getImportCapabilities',
        summary: 'What this core accepts from stations (probed before a station registers offline)',
        description:
          'A station may register devices offline only against a core that can later learn their secrets. A core without the import API (Astarte itself, any other Astarte-compatible core) answers 404 here.',
        security: [{ JWT: [] }],
        params: RealmParams,
        response: { 200: CapabilitiesReply, ...agentErrors },
      },
    },
    async () => {
      api();
      return { data: IMPORT_CAPABILITIES };
    },
  );

  app.post(
    '/v1/:realm/agent/imports/stations',
    {
      schema: {
        tags: ['imports'],
        operationId: 'enrolStation',
        summary: "Enrol a station: bind its id to its Ed25519 batch-signing key (plant IT's scope POST::agent/imports/stations)",
        description:
          'Imports are accepted only from enrolled stations, and only chains whose batch summaries verify under the enrolled key. 201 when enrolled, 200 when the same id and key are enrolled already (idempotent), 409 STATION_KEY_MISMATCH when the id is enrolled with another key (audited; nothing changes).',
        security: [{ JWT: [] }],
        params: RealmParams,
        body: EnrolBody,
        response: {
          200: Type.Object({ data: EnrolledData }, { description: 'Already enrolled with this key' }),
          201: Type.Object({ data: EnrolledData }, { description: 'Enrolled' }),
          ...agentErrors,
          409: errorReply('STATION_KEY_MISMATCH: the station id is enrolled with another key'),
        },
      },
    },
    async (req, reply) => {
      const { station_id, public_key, key_id } = req.body.data;
      const o = await api().stations.enrol(req.params.realm, { station: station_id, publicKey: public_key, keyId: key_id });
      const s = o.station;
      return reply
        .code(o.created ? 201 : 200)
        .send({ data: { station_id: s.station, key_id: s.keyId, enrolled_at: s.enrolledAt } });
    },
  );

  app.get(
    '/v1/:realm/agent/imports/stations',
    {
      schema: {
        tags: ['imports'],
        operationId: 'listStations',
        summary: 'Enrolled stations, each with its central chain as verified on arrival',
        security: [{ JWT: [] }],
        params: RealmParams,
        response: {
          200: Type.Object({ data: Type.Array(StationStatusData) }, { description: 'Enrolled stations' }),
          ...agentErrors,
        },
      },
    },
    async (req) => ({ data: (await api().stations.list(req.params.realm)).map(stationStatusJson) }),
  );

  app.get(
    '/v1/:realm/agent/imports/stations/:station',
    {
      schema: {
        tags: ['imports'],
        operationId: 'getStation',
        summary:
          'One enrolled station, its central chain verified end to end now (links, hashes, batch signatures under its key)',
        security: [{ JWT: [] }],
        params: StationParams,
        response: {
          200: Type.Object({ data: StationStatusData }, { description: 'The station and its verified chain' }),
          ...agentErrors,
          404: errorReply('STATION_NOT_ENROLLED'),
        },
      },
    },
    async (req, reply) => {
      try {
        return { data: stationStatusJson(await api().stations.get(req.params.realm, req.params.station)) };
      } catch (e) {
        if (!(e instanceof PairingError) || e.code !== 'STATION_NOT_ENROLLED') throw e;
        // Not a refusal of an import: here it is simply not found.
        return reply
          .code(404)
          .header('x-imprint-error', e.code)
          .send({ errors: { detail: e.message } });
      }
    },
  );

  app.post(
    '/v1/:realm/agent/imports/conflicts/:device_id/resolve',
    {
      schema: {
        tags: ['imports'],
        operationId: 'resolveImportConflict',
        summary: "Resolve a station's import conflict (scope POST::agent/imports/conflicts/.*)",
        description:
          "`keep: core` drops the station's offline registration from the conflicts: the device the station provisioned must be provisioned again. `keep: station` makes the station's registration (its secret hash) the device's, only while the device has not obtained credentials (else 409 DEVICE_ALREADY_CONFIRMED). Audited.",
        security: [{ JWT: [] }],
        params: Type.Object({ realm: Type.String(), device_id: Type.String() }),
        body: ResolveBody,
        response: {
          200: ResolveReply,
          ...agentErrors,
          404: errorReply('CONFLICT_NOT_FOUND: no conflict of this device from this station'),
          409: errorReply('DEVICE_ALREADY_CONFIRMED'),
        },
      },
    },
    async (req) => {
      const { keep, station } = req.body.data;
      const r = await api().devices.resolve(req.params.realm, req.params.device_id, keep, station);
      return {
        data: {
          device_id: r.deviceId,
          station: r.station,
          keep,
          result: r.result,
          advice:
            keep === 'core'
              ? `The core keeps its registration: the device station ${r.station} provisioned offline (batch ${r.batch}) holds a secret that does not work here; provision it again.`
              : `The device now authenticates with the secret station ${r.station} wrote (batch ${r.batch}).`,
        },
      };
    },
  );
}
