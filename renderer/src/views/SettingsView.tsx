import { useEffect, useState } from 'react';
import { errorText } from '../api-client.ts';
import type { PortInfo, SettingsPatch, StationApi, StationSettings, StationStatus } from '../api-types.ts';
import { AdminGate } from '../components/AdminGate.tsx';
import { PortsPanel } from '../components/PortsPanel.tsx';
import { SettingsForm } from '../components/SettingsForm.tsx';

export function SettingsView({ api, status }: { api: StationApi; status: StationStatus }) {
  // The PIN lives only in this view's memory, for as long as the view is open.
  const [pin, setPin] = useState<string>();
  const [settings, setSettings] = useState<StationSettings>();
  const [ports, setPorts] = useState<PortInfo[]>([]);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string }>();
  const isAdmin = status.operator?.role === 'admin';

  useEffect(() => {
    if (!pin) return;
    api.getSettings().then(setSettings, (e) => setMessage({ kind: 'error', text: errorText(e) }));
  }, [api, pin]);

  if (!pin || !isAdmin) return <AdminGate api={api} onUnlocked={setPin} />;

  const save = async (patch: SettingsPatch) => {
    try {
      const next = await api.updateSettings(patch, pin);
      setSettings(next);
      setMessage({ kind: 'ok', text: 'Settings saved and recorded in the audit trail.' });
    } catch (e) {
      setMessage({ kind: 'error', text: errorText(e) });
    }
  };

  return (
    <div className="settings-view">
      {message && (
        <p
          className={`banner-msg banner-${message.kind}`}
          role={message.kind === 'error' ? 'alert' : 'status'}
          data-testid="settings-message"
        >
          {message.text}
        </p>
      )}
      {settings && <RunningNow status={status} settings={settings} />}
      {settings ? (
        <SettingsForm key={JSON.stringify(settings)} settings={settings} ports={ports} onSave={save} />
      ) : (
        <p>Loading…</p>
      )}
      <PortsPanel api={api} onPorts={setPorts} />
    </div>
  );
}

/**
 * What the station runs now, next to what is configured: they differ when it was started with
 * --simulate (which replaces the configured fixtures) or before a change is saved.
 */
function RunningNow({ status, settings }: { status: StationStatus; settings: StationSettings }) {
  const running = status.fixtures;
  const simulated = running.filter((f) => f.simulated).length;
  const overridden = status.simulated && settings.fixtures.length > 0;
  return (
    <section className="panel running-now" aria-label="Running now" data-testid="running-now">
      <h2>Running now</h2>
      <p>
        {running.length === 0
          ? 'No fixture is running yet (the line is stopped).'
          : `${running.length} fixture${running.length === 1 ? '' : 's'}: ${running
              .map((f) => (f.simulated ? `${f.label} (simulated)` : `${f.label} on ${f.devicePort ?? '?'}`))
              .join(', ')}.`}{' '}
        {simulated > 0 &&
          !overridden &&
          settings.fixtures.length === 0 &&
          'No fixture port is configured, so the line is simulated.'}
      </p>
      {overridden && (
        <p className="banner-msg banner-warn" data-testid="simulate-override">
          This station was started with --simulate: it runs{' '}
          {simulated > 0 ? `${simulated} simulated fixtures` : 'a simulated line'} and ignores the {settings.fixtures.length}{' '}
          fixtures configured below. Restart it without --simulate to use them.
        </p>
      )}
    </section>
  );
}
