// How the station makes a device id from a label: UUIDv5 of the hardware serial in a namespace, or
// the id scanned from the label as it is. One schema for station.json and the settings API.
import { type Static, Type } from 'typebox';

const Uuid = Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' });

export const DeviceIdRuleSchema = Type.Union([
  Type.Object({ kind: Type.Literal('uuidv5'), namespace: Uuid }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('as-scanned') }, { additionalProperties: false }),
]);

export type DeviceIdRule = Static<typeof DeviceIdRuleSchema>;
