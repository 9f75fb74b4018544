// Where the station registers devices, and what it does while a remote core does not answer
// (docs/station.md, "Pairing modes"):
// - `embedded`: the station's own core; the station is the authority (a detached plant);
// - `remote`: the remote core; while it does not answer the line pauses, nothing is written;
// - `remote-with-offline-fallback`: while the remote does not answer, register in the embedded core
//   under an offline batch, synced later: only towards a core that can import them (the station
//   probes it: src/sync/remote-capabilities.ts);
// - `deferred`: the remote core; while it does not answer, fixtures go on taking devices, identify
//   them and park each one before anything is written, and provision them when the core answers (the
//   safe choice for a core without the import API, such as Astarte itself).
import { type Static, Type } from 'typebox';

export const PairingModeSchema = Type.Union([
  Type.Literal('embedded'),
  Type.Literal('remote'),
  Type.Literal('remote-with-offline-fallback'),
  Type.Literal('deferred'),
]);

export type PairingMode = Static<typeof PairingModeSchema>;

/** What the station remembers of its remote core (src/sync/remote-capabilities.ts). */
export const RemoteCapabilitiesSchema = Type.Object(
  {
    url: Type.String({ minLength: 1 }),
    realm: Type.String({ minLength: 1 }),
    offlineImports: Type.Boolean(),
    probedAt: Type.String({ minLength: 1 }),
  },
  { additionalProperties: false },
);

export type StoredCapabilities = Static<typeof RemoteCapabilitiesSchema>;
