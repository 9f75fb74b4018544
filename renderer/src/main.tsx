import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { createStationClient } from './api-client.ts';
import './styles.css';

const client = createStationClient();
const root = createRoot(document.getElementById('root') as HTMLElement);
root.render(
  client.api ? (
    <App api={client.api} />
  ) : (
    <main className="fatal" role="alert">
      <h1>Imprint cannot reach the station</h1>
      <p>{client.problem}</p>
    </main>
  ),
);
