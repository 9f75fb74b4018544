import { useEffect, useRef, useState } from 'react';
import type { PortInfo, SettingsPatch, StationApi, StationSettings } from '../api-types.ts';
import { type PlantFields, PlantSettingsFields, plantFieldsOf, plantPatchOf } from './PlantSettingsFields.tsx';

type FixtureSettings = StationSettings['fixtures'][number];

const DEFAULT_NAMESPACE = 'f79ad91f-c638-4889-ae74-9d001a3b4cf8';

/** The editable settings; the agent token field is write-only (its masked hint is shown, never the token). */
export function SettingsForm({
  api,
  settings,
  ports,
  onSave,
}: {
  api: StationApi;
  settings: StationSettings;
  ports: PortInfo[];
  onSave: (patch: SettingsPatch) => Promise<void>;
}) {
  const [realm, setRealm] = useState(settings.realm);
  const [mode, setMode] = useState(settings.pairing.mode);
  const [url, setUrl] = useState(settings.pairing.url ?? '');
  const [agentToken, setAgentToken] = useState('');
  const [ruleKind, setRuleKind] = useState(settings.deviceIdRule.kind);
  const [namespace, setNamespace] = useState(
    settings.deviceIdRule.kind === 'uuidv5' ? settings.deviceIdRule.namespace : DEFAULT_NAMESPACE,
  );
  const [fixtures, setFixtures] = useState<FixtureSettings[]>(settings.fixtures);
  const [simulated, setSimulated] = useState(settings.simulatedFixtures);
  const [requireScan, setRequireScan] = useState(settings.requireScan === true);
  const [allowStartWithoutBatch, setAllowStartWithoutBatch] = useState(settings.allowStartWithoutBatch === true);
  const [plant, setPlant] = useState<PlantFields>(plantFieldsOf(settings));
  const realmRef = useRef<HTMLInputElement>(null);
  // Unlocked: the first field has the focus.
  useEffect(() => realmRef.current?.focus(), []);

  const patchFixture = (i: number, change: Partial<FixtureSettings>) =>
    setFixtures(
      fixtures.map((f, j) =>
        j === i
          ? {
              ...f,
              ...change,
              scannerPort: (change.scannerPort ?? f.scannerPort) || undefined,
              ...('usb' in change ? { usb: change.usb } : {}),
            }
          : f,
      ),
    );

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const patch: SettingsPatch = {
      realm,
      pairing: { mode, url: mode === 'embedded' ? undefined : url.trim() || undefined, ...(agentToken ? { agentToken } : {}) },
      deviceIdRule: ruleKind === 'uuidv5' ? { kind: 'uuidv5', namespace: namespace.trim() } : { kind: 'as-scanned' },
      fixtures,
      simulatedFixtures: simulated,
      requireScan,
      allowStartWithoutBatch,
      ...plantPatchOf(plant),
    };
    await onSave(patch);
    setAgentToken('');
  };

  return (
    <form className="panel settings-form" aria-label="Station settings" noValidate onSubmit={submit}>
      <h2>Station {settings.stationId}</h2>
      <div className="grid2">
        <label className="field">
          <span>Realm</span>
          <input
            ref={realmRef}
            name="realm"
            data-testid="setting-realm"
            value={realm}
            onChange={(e) => setRealm(e.target.value)}
          />
        </label>
        <label className="field">
          <span>Pairing mode</span>
          <select name="mode" value={mode} onChange={(e) => setMode(e.target.value as typeof mode)}>
            <option value="embedded">Embedded (in this station)</option>
            <option value="remote">Remote pairing core</option>
            <option value="remote-with-offline-fallback">Remote, offline batches when unreachable</option>
            <option value="deferred">Remote, devices parked (no secret written) while unreachable</option>
          </select>
        </label>
        {mode !== 'embedded' && (
          <>
            <label className="field">
              <span>Pairing URL</span>
              <input name="url" value={url} placeholder="https://pairing.example.com" onChange={(e) => setUrl(e.target.value)} />
            </label>
            <label className="field">
              <span>Agent token {settings.pairing.agentToken ? `— current: ${settings.pairing.agentToken}` : '— not set'}</span>
              <input
                name="agentToken"
                type="password"
                autoComplete="off"
                value={agentToken}
                placeholder="Paste a new token to replace it"
                onChange={(e) => setAgentToken(e.target.value)}
              />
            </label>
          </>
        )}
        <label className="field">
          <span>Device id rule</span>
          <select name="rule" value={ruleKind} onChange={(e) => setRuleKind(e.target.value as typeof ruleKind)}>
            <option value="uuidv5">UUIDv5 of the scanned serial</option>
            <option value="as-scanned">The label is the device id</option>
          </select>
        </label>
        {ruleKind === 'uuidv5' && (
          <label className="field">
            <span>UUIDv5 namespace</span>
            <input name="namespace" className="mono" value={namespace} onChange={(e) => setNamespace(e.target.value)} />
          </label>
        )}
        <label className="field">
          <span>Simulated fixtures (used when no fixture port is set)</span>
          <input
            name="simulated"
            type="number"
            min={0}
            max={32}
            value={simulated}
            onChange={(e) => setSimulated(Number(e.target.value))}
          />
        </label>
      </div>
      <label className="check">
        <input type="checkbox" name="requireScan" checked={requireScan} onChange={(e) => setRequireScan(e.target.checked)} />
        Wait for a label scan before each device (keyboard-wedge scanner or a fixture's scanner port)
      </label>
      <label className="check">
        <input
          type="checkbox"
          name="allowStartWithoutBatch"
          checked={allowStartWithoutBatch}
          onChange={(e) => setAllowStartWithoutBatch(e.target.checked)}
        />
        Allow Start line without an open batch (devices are then recorded in no batch)
      </label>
      <h3>Fixtures</h3>
      <datalist id="port-paths">
        {ports.map((p) => (
          <option key={p.path} value={p.path} />
        ))}
      </datalist>
      {fixtures.length === 0 && (
        <p className="empty">
          No fixture port is configured: the station runs a SIMULATED line. Add a fixture to use real devices.
        </p>
      )}
      {fixtures.map((f, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: rows are controlled inputs edited in place; the id itself is being edited
        <div className="row fixture-row" key={i}>
          <label className="field">
            <span>Fixture id</span>
            <input value={f.id} onChange={(e) => patchFixture(i, { id: e.target.value })} />
          </label>
          <label className="field">
            <span>Device port</span>
            <input list="port-paths" value={f.devicePort} onChange={(e) => patchFixture(i, { devicePort: e.target.value })} />
          </label>
          <UsbMatch fixture={f} ports={ports} onChange={(usb) => patchFixture(i, { usb })} />
          <label className="field">
            <span>Scanner port (optional)</span>
            <input
              list="port-paths"
              value={f.scannerPort ?? ''}
              onChange={(e) => patchFixture(i, { scannerPort: e.target.value })}
            />
          </label>
          <button type="button" className="btn" onClick={() => setFixtures(fixtures.filter((_, j) => j !== i))}>
            Remove
          </button>
        </div>
      ))}
      <div className="row">
        <button
          type="button"
          className="btn"
          onClick={() => setFixtures([...fixtures, { id: `F${fixtures.length + 1}`, devicePort: ports[0]?.path ?? '' }])}
        >
          Add fixture
        </button>
      </div>
      <PlantSettingsFields api={api} fields={plant} onChange={setPlant} />
      <div className="row">
        <button type="submit" className="btn btn-primary" data-testid="save-settings">
          Save settings
        </button>
      </div>
    </form>
  );
}

/**
 * Match the fixture by the USB identity of its port (vendor, product, serial number), so a
 * re-plugged adapter keeps its fixture whatever path it comes back on.
 */
function UsbMatch({
  fixture,
  ports,
  onChange,
}: {
  fixture: FixtureSettings;
  ports: PortInfo[];
  onChange: (usb: FixtureSettings['usb']) => void;
}) {
  const port = ports.find((p) => p.path === fixture.devicePort);
  const identity =
    port?.vendorId && port.productId
      ? { vendorId: port.vendorId, productId: port.productId, ...(port.serialNumber ? { serialNumber: port.serialNumber } : {}) }
      : undefined;
  const usb = fixture.usb;
  return (
    <label
      className="check usb-match"
      title={usb ? `USB ${usb.vendorId}:${usb.productId}${usb.serialNumber ? ` ${usb.serialNumber}` : ''}` : undefined}
    >
      <input
        type="checkbox"
        name="usbMatch"
        checked={usb !== undefined}
        disabled={usb === undefined && identity === undefined}
        onChange={(e) => onChange(e.target.checked ? identity : undefined)}
      />
      {usb
        ? `By USB ${usb.vendorId}:${usb.productId}${usb.serialNumber ? ` (${usb.serialNumber})` : ''}`
        : identity
          ? 'Match by USB identity'
          : 'By path (no USB identity)'}
    </label>
  );
}
