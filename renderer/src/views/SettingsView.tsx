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

  useEffect(() => {
    if (!pin) return;
    api.getSettings().then(setSettings, (e) => setMessage({ kind: 'error', text: errorText(e) }));
  }, [api, pin]);

  if (!pin) return <AdminGate api={api} onUnlocked={setPin} />;

  const save = async (patch: SettingsPatch) => {
    // The previous answer goes at once: the message shown after a second save is that save's own.
    setMessage(undefined);
    try {
      const next = await api.updateSettings(patch, pin);
      setSettings(next);
      // The station asked a remote core before it answered: say so when it does not answer.
      const pairing = next.pairing.mode === 'embedded' ? undefined : (await api.getStatus()).pairing;
      if (pairing && !pairing.reachable && !pairing.offline) {
        const why = pairing.unreachableReason ? ` (${pairing.unreachableReason})` : '';
        setMessage({
          kind: 'error',
          text: `Settings saved and recorded, but the pairing core at ${pairing.url ?? 'that URL'} does not answer${why}. Check the URL; the station keeps asking every 2 s.`,
        });
      } else setMessage({ kind: 'ok', text: 'Settings saved and recorded in the audit trail.' });
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
        <SettingsForm key={JSON.stringify(settings)} api={api} settings={settings} ports={ports} onSave={save} />
      ) : (
        <p>Loading…</p>
      )}
      <PortsPanel api={api} onPorts={setPorts} />
    </div>
  );
}

/**
 * What the station runs (or will run at Start line), as the station says it, next to what is
 * configured: they differ when it was started with --simulate, or before a change is saved.
 */
function RunningNow({ status, settings }: { status: StationStatus; settings: StationSettings }) {
  const fixtures = status.fixtures;
  const source = status.line?.source ?? (status.simulated ? 'simulated-no-fixtures' : 'configured');
  const configured = status.line?.configuredFixtures ?? settings.fixtures.length;
  const list = fixtures.map((f) => (f.simulated ? `${f.label} (simulated)` : `${f.label} on ${f.devicePort ?? '?'}`)).join(', ');
  return (
    <section className="panel running-now" aria-label="Running now" data-testid="running-now">
      <h2>{status.running ? 'Running now' : 'Runs at Start line'}</h2>
      <p>
        {fixtures.length === 0 ? 'No fixture.' : `${fixtures.length} fixture${fixtures.length === 1 ? '' : 's'}: ${list}.`}{' '}
        {source === 'simulated-no-fixtures' && 'No fixture port is configured, so the line is simulated.'}
      </p>
      {source === 'simulated-option' && (
        <p className="banner-msg banner-warn" data-testid="simulate-override">
          This station was started with --simulate: it runs {fixtures.length} simulated fixtures and ignores the {configured}{' '}
          fixtures configured below. Restart it without --simulate to use them.
        </p>
      )}
    </section>
  );
}
