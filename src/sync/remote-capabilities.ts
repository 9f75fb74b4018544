// Can the remote pairing core learn a secret the station made offline? Only a core with Imprint's
// import API can; Astarte itself cannot, and a secret it never learns strands its device for good.
// So before `remote-with-offline-fallback` registers anything offline, the station asks the core
// (GET /v1/{realm}/agent/imports/capabilities, docs/sync.md) when it opens and when its settings
// change, and remembers the answer per remote URL + realm in station.json. A core that cannot answer
// now is judged by that remembered answer; with none, offline registration is refused.

/** What the station remembers of a remote core (station.json `pairing.capabilities`). */
export interface RemoteCapabilities {
  url: string;
  realm: string;
  offlineImports: boolean;
  probedAt: string;
}

export type CapabilityProbe =
  /** The core answered: it can import offline registrations, or it cannot (no import API: 404). */
  | { outcome: 'answered'; offlineImports: boolean }
  /** The core refused the agent token (401/403): nothing is known of its capabilities. */
  | { outcome: 'refused'; status: number }
  /** No answer (network, timeout, 5xx): nothing is known now. */
  | { outcome: 'unreachable'; reason: string };

/** The remote's base URL as the station names it: no trailing slash, no `/v1`. */
export function remoteBase(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/v1$/, '');
}

async function get(url: string, agentToken: string | undefined, timeoutMs: number): Promise<Response> {
  const res = await fetch(url, {
    headers: { accept: 'application/json', ...(agentToken ? { authorization: `Bearer ${agentToken}` } : {}) },
    signal: AbortSignal.timeout(timeoutMs),
    redirect: 'error',
  });
  await res.arrayBuffer().catch(() => undefined);
  return res;
}

export async function probeCapabilities(opts: {
  url: string;
  realm: string;
  agentToken?: string;
  timeoutMs?: number;
}): Promise<CapabilityProbe> {
  const base = `${remoteBase(opts.url)}/v1/${encodeURIComponent(opts.realm)}/agent/imports`;
  const timeoutMs = opts.timeoutMs ?? 3000;
  try {
    const res = await fetch(`${base}/capabilities`, {
      headers: { accept: 'application/json', ...(opts.agentToken ? { authorization: `Bearer ${opts.agentToken}` } : {}) },
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
    const text = await res.text().catch(() => '');
    if (res.status === 401 || res.status === 403) return { outcome: 'refused', status: res.status };
    if (res.status === 200) {
      let body: { data?: { offline_imports?: unknown } } | undefined;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      return { outcome: 'answered', offlineImports: body?.data?.offline_imports === true };
    }
    if (res.status === 404) {
      // An Imprint core from before the capability route still has the import API: its conflict
      // list answers. Astarte (or any core without imports) answers 404 here too.
      const conflicts = await get(`${base}/conflicts`, opts.agentToken, timeoutMs);
      if (conflicts.status === 401 || conflicts.status === 403) return { outcome: 'refused', status: conflicts.status };
      return { outcome: 'answered', offlineImports: conflicts.status === 200 };
    }
    if (res.status >= 500) return { outcome: 'unreachable', reason: `capabilities answered ${res.status}` };
    return { outcome: 'answered', offlineImports: false };
  } catch (e) {
    const timedOut = (e as Error)?.name === 'TimeoutError';
    const code = (e as { cause?: { code?: string } })?.cause?.code;
    return { outcome: 'unreachable', reason: timedOut ? `no answer within ${timeoutMs} ms` : (code ?? 'network error') };
  }
}

/** What the station may do about offline registration, from a probe and what it remembered. */
export type OfflineVerdict =
  | { allowed: true; known: RemoteCapabilities; fresh: boolean }
  | { allowed: false; why: 'no-imports'; known: RemoteCapabilities }
  | { allowed: false; why: 'unknown'; reason: string }
  | { allowed: false; why: 'token-refused'; status: number };

export function offlineVerdict(
  probe: CapabilityProbe,
  remembered: RemoteCapabilities | undefined,
  at: { url: string; realm: string; now?: Date },
): OfflineVerdict {
  const url = remoteBase(at.url);
  if (probe.outcome === 'answered') {
    const known = { url, realm: at.realm, offlineImports: probe.offlineImports, probedAt: (at.now ?? new Date()).toISOString() };
    return probe.offlineImports ? { allowed: true, known, fresh: true } : { allowed: false, why: 'no-imports', known };
  }
  if (probe.outcome === 'refused') return { allowed: false, why: 'token-refused', status: probe.status };
  const same = remembered && remoteBase(remembered.url) === url && remembered.realm === at.realm ? remembered : undefined;
  if (!same) return { allowed: false, why: 'unknown', reason: probe.reason };
  return same.offlineImports ? { allowed: true, known: same, fresh: false } : { allowed: false, why: 'no-imports', known: same };
}
