import { useEffect } from 'react';
import type { StationApi, StationStatus } from './api-types.ts';
import { NavBar } from './components/NavBar.tsx';
import { PairingDownBanner, pairingDown } from './components/PairingDownBanner.tsx';
import { SessionRefused } from './components/SessionRefused.tsx';
import { SimulatedBanner } from './components/SimulatedBanner.tsx';
import { StationOfflineBanner } from './components/StationOfflineBanner.tsx';
import { StatusBar } from './components/StatusBar.tsx';
import { dropScanKeys, holdScanKey, holdScanKeys } from './scan-focus.ts';
import { unlockAudio } from './sound-cue.ts';
import type { StationLink } from './station-link.ts';
import { go, type Route, useRoute } from './use-route.ts';
import { useStation } from './use-station.ts';
import { BatchesView } from './views/BatchesView.tsx';
import { BatchReportView } from './views/BatchReportView.tsx';
import { OperatorView } from './views/OperatorView.tsx';
import { QaView } from './views/QaView.tsx';
import { SettingsView } from './views/SettingsView.tsx';

const VIEW_KEYS: Record<string, string> = { F1: 'operator', F2: 'qa', F3: 'batches', F4: 'settings' };

export function App({ api, link, onToken }: { api: StationApi; link: StationLink; onToken?: (token: string) => void }) {
  const route = useRoute();
  const { status, link: linkState, verdict } = useStation(api, link);
  // Refused or gone: what is on screen is not live, and no action can reach the station.
  const offline = linkState.kind === 'offline' || linkState.kind === 'refused';

  useEffect(() => {
    // F1–F4 switch views from anywhere; any key or click also unlocks the audible cues.
    const onKey = (e: KeyboardEvent) => {
      unlockAudio();
      const view = VIEW_KEYS[e.key];
      if (view) {
        e.preventDefault();
        if (view === 'operator') holdScanKeys();
        else dropScanKeys();
        go(view);
        return;
      }
      // A scan typed right after F1, before the operator view's scan field is there: kept for it.
      if (holdScanKey(e)) {
        e.preventDefault();
        e.stopPropagation();
      }
    };
    window.addEventListener('keydown', onKey, true);
    window.addEventListener('pointerdown', unlockAudio, true);
    return () => {
      window.removeEventListener('keydown', onKey, true);
      window.removeEventListener('pointerdown', unlockAudio, true);
    };
  }, []);

  return (
    <div className={`app view-${route.view}${offline ? ' app-offline' : ''}`} data-link={linkState.kind}>
      {status?.simulated && <SimulatedBanner />}
      <NavBar route={route} status={status} />
      {linkState.kind === 'offline' && <StationOfflineBanner link={linkState} />}
      {status && !offline && pairingDown(status.pairing, status.linePause?.code) && (
        <PairingDownBanner pairing={status.pairing} />
      )}
      {linkState.kind === 'refused' && onToken && <SessionRefused reason={linkState.reason} onToken={onToken} />}
      <main className="content">
        {status ? (
          <CurrentView api={api} route={route} status={status} online={!offline} verdict={verdict} />
        ) : (
          <p className="loading">Connecting to the station…</p>
        )}
      </main>
      {status && <StatusBar status={status} offline={offline} />}
    </div>
  );
}

function CurrentView({
  api,
  route,
  status,
  online,
  verdict,
}: {
  api: StationApi;
  route: Route;
  status: StationStatus;
  online: boolean;
  verdict?: string;
}) {
  switch (route.view) {
    case 'qa':
      return <QaView api={api} status={status} />;
    case 'batches':
      return <BatchesView api={api} status={status} />;
    case 'settings':
      return <SettingsView api={api} status={status} />;
    case 'report':
      return <BatchReportView api={api} batchId={route.batchId} />;
    default:
      return <OperatorView api={api} status={status} online={online} verdict={verdict} />;
  }
}
