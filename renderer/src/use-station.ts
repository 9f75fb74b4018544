// Live station state for the views: one snapshot from getStatus, then kept current by events, and
// whether the station is there at all (StationLink). The station is the source of truth; the UI
// holds no state of its own about fixtures. When the station comes back the snapshot is fetched again.
import { useEffect, useRef, useState } from 'react';
import type { FixtureState, StationApi, StationEvent, StationStatus } from './api-types.ts';
import { playCue } from './sound-cue.ts';
import type { LinkState, StationLink } from './station-link.ts';

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

/** What the one live region says when a fixture finishes a device. */
export function verdictSentence(f: FixtureState): string {
  if (f.outcome === 'pass') return `${f.label}: PASS${f.hardwareSerial ? `, ${f.hardwareSerial}` : ''}.`;
  const failure = f.failure ? ` ${f.failure.code}. ${f.failure.message} What to do: ${f.failure.action}` : '';
  return `${f.label}: FAIL.${failure}`;
}

export interface StationView {
  status?: StationStatus;
  link: LinkState;
  /** The latest verdict, for the single live region of the operator view. */
  verdict?: string;
}

export function useStation(api: StationApi, link: StationLink): StationView {
  const [status, setStatus] = useState<StationStatus>();
  const [linkState, setLinkState] = useState<LinkState>(link.state);
  const [verdict, setVerdict] = useState<string>();
  // Events arrive between renders: the latest status is kept here, and rendered from state.
  const latest = useRef<StationStatus>(undefined);

  useEffect(() => {
    let alive = true;
    const show = (s: StationStatus) => {
      latest.current = s;
      setStatus(s);
    };
    const refresh = () =>
      api.getStatus().then(
        (s) => alive && show(s),
        () => {}, // the link says what is wrong
      );
    refresh();
    const offLink = link.onChange(setLinkState);
    const offRecovered = link.onRecovered(refresh);
    link.start(() => api.getStatus());
    const unsubscribe = api.subscribe((event) => {
      link.streamMessage();
      const prev = latest.current;
      if (event.type === 'fixture') {
        const before = prev?.fixtures.find((f) => f.id === event.fixture.id);
        const key = finishedKey(event.fixture);
        if (key && key !== finishedKey(before) && event.fixture.outcome) {
          playCue(event.fixture.outcome);
          setVerdict(verdictSentence(event.fixture));
        }
      }
      if (prev) show(applyEvent(prev, event));
      else if (event.type === 'status') show(event.status);
    });
    return () => {
      alive = false;
      unsubscribe();
      offLink();
      offRecovered();
      link.stop();
    };
  }, [api, link]);

  return { status, link: linkState, verdict };
}
