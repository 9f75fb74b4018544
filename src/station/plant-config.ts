// The configuration of the plant features (station.json): label printer and template, post-PASS
// hook, USB identity of a fixture's port. Kept apart so station-config.ts only lists them.
import { Type } from 'typebox';

export const UsbIdentitySchema = Type.Object(
  {
    vendorId: Type.String({ pattern: '^[0-9a-fA-F]{4}$' }),
    productId: Type.String({ pattern: '^[0-9a-fA-F]{4}$' }),
    serialNumber: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  },
  { additionalProperties: false },
);

export const LabelPrinterSchema = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('tcp'),
      host: Type.String({ minLength: 1, maxLength: 253 }),
      port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { kind: Type.Literal('cups'), queue: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,127}$' }) },
    { additionalProperties: false },
  ),
]);

export const PostPassHookSchema = Type.Object(
  {
    command: Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), { minItems: 1, maxItems: 32 }),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 300_000 })),
  },
  { additionalProperties: false },
);

/** The members station.json may add for the plant features (and how the line may start). */
export const PLANT_CONFIG_MEMBERS = {
  /** Start line without an open batch (default: a batch is required). */
  allowStartWithoutBatch: Type.Optional(Type.Boolean()),
  labelPrinter: Type.Optional(LabelPrinterSchema),
  labelTemplate: Type.Optional(Type.String({ minLength: 1, maxLength: 8192 })),
  postPassHook: Type.Optional(PostPassHookSchema),
};
