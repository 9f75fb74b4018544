// Schemas of what crosses the station API boundary (HTTP bodies and queries, IPC arguments).
// The station service checks them too, so both transports reject the same bad input.
import { Type } from 'typebox';
import { DeviceIdRuleSchema } from '../station/device-id-rule.ts';
import { PairingModeSchema } from '../station/pairing-mode.ts';
import { LabelPrinterSchema, PostPassHookSchema, UsbIdentitySchema } from '../station/plant-config.ts';

const ShortText = (max = 200) => Type.String({ maxLength: max });

export const SignInBody = Type.Object(
  { name: Type.Optional(ShortText(100)), badge: Type.Optional(ShortText(200)), pin: Type.Optional(ShortText(64)) },
  { additionalProperties: false },
);

export const ScanBody = Type.Object(
  { text: Type.String({ minLength: 1, maxLength: 512 }), fixtureId: Type.Optional(ShortText(64)) },
  { additionalProperties: false },
);

export const OpenBatchBody = Type.Object(
  { workOrder: Type.String({ minLength: 1, maxLength: 100 }) },
  { additionalProperties: false },
);

export const BatchParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100 }) });

export const AuditQuerySchema = Type.Object(
  {
    deviceId: Type.Optional(ShortText(100)),
    hardwareSerial: Type.Optional(ShortText(200)),
    batchId: Type.Optional(ShortText(100)),
    operator: Type.Optional(ShortText(100)),
    station: Type.Optional(ShortText(100)),
    outcome: Type.Optional(Type.Union([Type.Literal('ok'), Type.Literal('fail'), Type.Literal('info')])),
    step: Type.Optional(ShortText(64)),
    from: Type.Optional(ShortText(40)),
    to: Type.Optional(ShortText(40)),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000 })),
    beforeSeq: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

/** A QA search: the audit query and `find` (the start of a serial, device id, operator or work order). */
export const RemoteAuditPageSchema = Type.Object(
  { ...AuditQuerySchema.properties, cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,1024}$' })) },
  { additionalProperties: false },
);

export const AuditSearchSchema = Type.Object(
  { ...AuditQuerySchema.properties, find: Type.Optional(Type.String({ minLength: 2, maxLength: 100 })) },
  { additionalProperties: false },
);

/** Export: the whole trail or a batch (chain-checkable), or exactly a search (`query` members flattened). */
export const ExportQuery = Type.Object(
  {
    ...AuditSearchSchema.properties,
    format: Type.Union([Type.Literal('csv'), Type.Literal('jsonl')]),
    selection: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const FixtureParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

const FixtureSettingsSchema = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 64 }),
    devicePort: Type.String({ maxLength: 256 }),
    scannerPort: Type.Optional(Type.String({ maxLength: 256 })),
    baudRate: Type.Optional(Type.Integer({ minimum: 300, maximum: 4_000_000 })),
    usb: Type.Optional(UsbIdentitySchema),
  },
  { additionalProperties: false },
);

export const SettingsPatchSchema = Type.Object(
  {
    stationId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    realm: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9]{0,47}$' })),
    pairing: Type.Optional(
      Type.Object(
        {
          mode: Type.Optional(PairingModeSchema),
          url: Type.Optional(Type.String({ maxLength: 2048 })),
          agentToken: Type.Optional(Type.String({ maxLength: 8192 })),
        },
        { additionalProperties: false },
      ),
    ),
    deviceIdRule: Type.Optional(DeviceIdRuleSchema),
    fixtures: Type.Optional(Type.Array(FixtureSettingsSchema, { maxItems: 64 })),
    simulatedFixtures: Type.Optional(Type.Integer({ minimum: 0, maximum: 32 })),
    requireScan: Type.Optional(Type.Boolean()),
    allowStartWithoutBatch: Type.Optional(Type.Boolean()),
    // null removes the setting.
    labelPrinter: Type.Optional(Type.Union([LabelPrinterSchema, Type.Null()])),
    labelTemplate: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 8192 }), Type.Null()])),
    postPassHook: Type.Optional(Type.Union([PostPassHookSchema, Type.Null()])),
  },
  { additionalProperties: false },
);

export const UpdateSettingsBody = Type.Object(
  { patch: SettingsPatchSchema, pin: Type.String({ maxLength: 64 }) },
  { additionalProperties: false },
);

export const UnlockAdminBody = Type.Object(
  { pin: Type.String({ maxLength: 64 }), name: Type.Optional(ShortText(100)) },
  { additionalProperties: false },
);

export const TestPortBody = Type.Object({ path: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false });

export const ReprintBody = Type.Object(
  { fixtureId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) },
  { additionalProperties: false },
);
