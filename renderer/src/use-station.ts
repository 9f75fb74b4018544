// Live station state for the views: one snapshot from getStatus, then kept current by events.
// The station is the source of truth; the UI holds no state of its own about fixtures.
import { useEffect, useState } from 'react';
import type { FixtureState, StationApi, StationEvent, StationStatus } from '../../src/api/station-api.ts';
import { playCue } from './sound-cue.ts';

function finishedKey(f: FixtureState | undefined): string | undefined {
  return f?.outcome ? `${f.outcome}@${f.finishedAt ?? ''}@${f.deviceId ?? ''}` : undefined;
}

export function applyEvent(status: StationStatus, event: StationEvent): StationStatus {
  switch (event.type) {
    case 'status':
      return event.status;
    case 'counters':
      return { ...status, counters: event.counters };
    case 'fixture': {
      const exists = status.fixtures.some((f) => f.id === event.fixture.id);
      const fixtures = exists
        ? status.fixtures.map((f) => (f.id === event.fixture.id ? event.fixture : f))
        : [...status.fixtures, event.fixture];
      return { ...status, fixtures };
    }
    default:
      return status;
  }
}

export function useStation(api: StationApi): { status?: StationStatus; error?: string } {
  const [status, setStatus] = useState<StationStatus>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    let alive = true;
    api.getStatus().then(
      (s) => alive && setStatus(s),
      (e) => alive && setError(String(e?.message ?? e)),
    );
    const unsubscribe = api.subscribe((event) => {
      if (event.type === 'fixture') {
        setStatus((prev) => {
          const before = prev?.fixtures.find((f) => f.id === event.fixture.id);
          const key = finishedKey(event.fixture);
          if (key && key !== finishedKey(before) && event.fixture.outcome) playCue(event.fixture.outcome);
          return prev ? applyEvent(prev, event) : prev;
        });
      } else {
        setStatus((prev) => (prev || event.type === 'status' ? applyEvent(prev as StationStatus, event) : prev));
      }
      setError(undefined);
    });
    return () => {
      alive = false;
      unsubscribe();
    };
  }, [api]);

  return { status, error };
}
