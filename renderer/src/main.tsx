import { useState } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { createStationClient, type StationClient, webClient } from './api-client.ts';
import { keepSessionToken } from './session-token.ts';
import './styles.css';

/** Holds the client: a new session token (pasted after a station restart) replaces it without a reload. */
function Root() {
  const [client, setClient] = useState<StationClient>(createStationClient);
  if (!client.api) {
    return (
      <main className="fatal" role="alert">
        <h1>Imprint cannot reach the station</h1>
        <p>{client.problem}</p>
      </main>
    );
  }
  const onToken = (token: string) => {
    keepSessionToken(token);
    setClient(webClient(token));
  };
  return <App api={client.api} link={client.link} onToken={client.transport === 'web' ? onToken : undefined} />;
}

createRoot(document.getElementById('root') as HTMLElement).render(<Root />);
