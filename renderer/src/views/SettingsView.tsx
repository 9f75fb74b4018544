import { useEffect, useState } from 'react';
import type { PortInfo, SettingsPatch, StationApi, StationSettings, StationStatus } from '../../../src/api/station-api.ts';
import { errorText } from '../api-client.ts';
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
      {settings ? (
        <SettingsForm key={JSON.stringify(settings)} settings={settings} ports={ports} onSave={save} />
      ) : (
        <p>Loading…</p>
      )}
      <PortsPanel api={api} onPorts={setPorts} />
    </div>
  );
}
