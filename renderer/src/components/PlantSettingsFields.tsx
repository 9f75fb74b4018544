// Label printer, label template and post-PASS hook: the plant features of the settings form.
import { useState } from 'react';
import { errorText } from '../api-client.ts';
import type { PortTestResult, StationApi, StationSettings } from '../api-types.ts';

export interface PlantFields {
  printerKind: 'none' | 'tcp' | 'cups';
  host: string;
  port: string;
  queue: string;
  template: string;
  /** One argument per line: the program first (no shell). */
  hookCommand: string;
  hookTimeoutMs: string;
}

export function plantFieldsOf(s: StationSettings): PlantFields {
  const p = s.labelPrinter;
  return {
    printerKind: p?.kind ?? 'none',
    host: p?.kind === 'tcp' ? p.host : '',
    port: p?.kind === 'tcp' && p.port ? String(p.port) : '',
    queue: p?.kind === 'cups' ? p.queue : '',
    template: s.labelTemplate ?? '',
    hookCommand: s.postPassHook?.command.join('\n') ?? '',
    hookTimeoutMs: s.postPassHook?.timeoutMs ? String(s.postPassHook.timeoutMs) : '',
  };
}

/** The settings patch of these fields (null removes a setting). */
export function plantPatchOf(
  f: PlantFields,
): Pick<Parameters<StationApi['updateSettings']>[0], 'labelPrinter' | 'labelTemplate' | 'postPassHook'> {
  const command = f.hookCommand
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return {
    labelPrinter:
      f.printerKind === 'tcp'
        ? { kind: 'tcp', host: f.host.trim(), ...(f.port ? { port: Number(f.port) } : {}) }
        : f.printerKind === 'cups'
          ? { kind: 'cups', queue: f.queue.trim() }
          : null,
    labelTemplate: f.template.trim() ? f.template : null,
    postPassHook: command.length ? { command, ...(f.hookTimeoutMs ? { timeoutMs: Number(f.hookTimeoutMs) } : {}) } : null,
  };
}

export function PlantSettingsFields({
  api,
  fields,
  onChange,
}: {
  api: StationApi;
  fields: PlantFields;
  onChange: (f: PlantFields) => void;
}) {
  const [test, setTest] = useState<PortTestResult | { ok: false; detail: string }>();
  const set = (change: Partial<PlantFields>) => onChange({ ...fields, ...change });
  const testPrint = async () => {
    setTest(undefined);
    try {
      setTest(await api.testPrint());
    } catch (e) {
      setTest({ ok: false, detail: errorText(e) });
    }
  };
  return (
    <>
      <fieldset className="plant-settings" data-testid="plant-settings">
        <legend>Label printing on PASS</legend>
        <div className="grid2">
          <label className="field">
            <span>Label printer</span>
            <select
              name="printerKind"
              value={fields.printerKind}
              onChange={(e) => set({ printerKind: e.target.value as PlantFields['printerKind'] })}
            >
              <option value="none">None</option>
              <option value="tcp">Network printer (raw TCP, port 9100)</option>
              <option value="cups">CUPS queue (lp -o raw)</option>
            </select>
          </label>
          {fields.printerKind === 'tcp' && (
            <div className="row">
              <label className="field">
                <span>Printer host</span>
                <input
                  name="printerHost"
                  value={fields.host}
                  placeholder="192.168.1.50"
                  onChange={(e) => set({ host: e.target.value })}
                />
              </label>
              <label className="field">
                <span>Port</span>
                <input
                  name="printerPort"
                  type="number"
                  min={1}
                  max={65535}
                  value={fields.port}
                  placeholder="9100"
                  onChange={(e) => set({ port: e.target.value })}
                />
              </label>
            </div>
          )}
          {fields.printerKind === 'cups' && (
            <label className="field">
              <span>CUPS queue</span>
              <input name="printerQueue" value={fields.queue} onChange={(e) => set({ queue: e.target.value })} />
            </label>
          )}
        </div>
        {fields.printerKind !== 'none' && (
          <>
            <label className="field">
              <span>
                ZPL template ({'{serial}'}, {'{deviceId}'}, {'{workOrder}'}, {'{batchId}'}; empty: serial, id and a DataMatrix of
                the id)
              </span>
              <textarea
                name="labelTemplate"
                className="mono"
                rows={3}
                value={fields.template}
                onChange={(e) => set({ template: e.target.value })}
              />
            </label>
            <div className="row">
              <button type="button" className="btn" data-testid="test-print" onClick={testPrint}>
                Test print (saved settings)
              </button>
              {test && (
                <span className={test.ok ? 'ok' : 'error'} data-testid="test-print-result">
                  {test.ok ? '✔' : '✘'} {test.detail}
                </span>
              )}
            </div>
          </>
        )}
      </fieldset>
      <fieldset className="plant-settings">
        <legend>Post-PASS hook</legend>
        <p className="hint">
          Run after each PASS with IMPRINT_DEVICE_ID, IMPRINT_SERIAL, IMPRINT_BATCH, IMPRINT_WORK_ORDER, IMPRINT_OPERATOR,
          IMPRINT_SECRET_FINGERPRINT in its environment and the same fields as JSON on its input; never the secret. A failure is
          recorded and shown on the card; the device stays PASS.
        </p>
        <div className="grid2">
          <label className="field">
            <span>Command, one argument per line (no shell)</span>
            <textarea
              name="hookCommand"
              className="mono"
              rows={3}
              value={fields.hookCommand}
              placeholder={'/usr/local/bin/tell-mes\n--line=3'}
              onChange={(e) => set({ hookCommand: e.target.value })}
            />
          </label>
          <label className="field">
            <span>Killed after (ms, default 10000)</span>
            <input
              name="hookTimeoutMs"
              type="number"
              min={100}
              max={300000}
              value={fields.hookTimeoutMs}
              onChange={(e) => set({ hookTimeoutMs: e.target.value })}
            />
          </label>
        </div>
      </fieldset>
    </>
  );
}
