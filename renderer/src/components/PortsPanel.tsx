import { useCallback, useEffect, useState } from 'react';
import { errorText } from '../api-client.ts';
import type { PortInfo, PortTestResult, StationApi } from '../api-types.ts';
import { portVerdict } from '../port-verdict.ts';

export function PortsPanel({ api, onPorts }: { api: StationApi; onPorts: (ports: PortInfo[]) => void }) {
  const [ports, setPorts] = useState<PortInfo[]>([]);
  const [results, setResults] = useState<Record<string, PortTestResult | string>>({});
  const reload = useCallback(() => {
    api.listPorts().then(
      (p) => {
        setPorts(p);
        onPorts(p);
      },
      (e) => setResults({ '': errorText(e) }),
    );
  }, [api, onPorts]);
  useEffect(reload, [reload]);

  const test = async (path: string) => {
    setResults((r) => ({ ...r, [path]: 'testing…' }));
    try {
      const result = await api.testPort(path);
      setResults((r) => ({ ...r, [path]: result }));
    } catch (e) {
      setResults((r) => ({ ...r, [path]: errorText(e) }));
    }
  };

  return (
    <section className="panel" aria-label="Serial ports">
      <header className="row">
        <h2>Serial ports on this machine</h2>
        <button type="button" className="btn" onClick={reload}>
          Refresh
        </button>
      </header>
      {ports.length === 0 ? (
        <p className="empty">No serial port found. Plug in a fixture or scanner and refresh.</p>
      ) : (
        <table className="events" data-testid="port-list">
          <thead>
            <tr>
              <th>Port</th>
              <th>Maker</th>
              <th>Serial</th>
              <th>USB id</th>
              <th>Test</th>
            </tr>
          </thead>
          <tbody>
            {ports.map((p) => {
              const r = results[p.path];
              return (
                <tr key={p.path}>
                  <td className="mono">{p.path}</td>
                  <td>{p.manufacturer ?? ''}</td>
                  <td className="mono">{p.serialNumber ?? ''}</td>
                  <td className="mono">{p.vendorId ? `${p.vendorId}:${p.productId ?? ''}` : ''}</td>
                  <td>
                    <button type="button" className="btn" onClick={() => test(p.path)}>
                      Test port
                    </button>{' '}
                    {r && <PortResult result={r} />}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

function PortResult({ result }: { result: PortTestResult | string }) {
  if (typeof result === 'string') return <span data-testid="port-result">{result}</span>;
  const v = portVerdict(result);
  return (
    <span className={v.ok ? 'ok' : 'error'} data-testid="port-result" data-ok={v.ok}>
      {v.text}
    </span>
  );
}
