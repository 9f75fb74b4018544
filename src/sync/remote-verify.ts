// `imprint audit verify --remote URL --station S`: the central copy of a station's trail, checked end to
// end on this machine with the same checker as a local export (links, hashes, canonical bodies, batch
// summaries and their counts), under the key the core has enrolled for that station, and against the
// anchors QA holds (the station's own chain-head checkpoint among them). The core's own "verified" flag
// is not trusted: only the events it serves are.
import type { Anchor } from '../audit/audit-anchor.ts';
import { ChainChecker } from '../audit/audit-chain.ts';
import type { AuditEvent, ChainStatus } from '../audit/audit-types.ts';
import { type RemoteTarget, refusal, remoteRequest } from './remote-request.ts';

/** Events per request: the central query's largest page. */
const PAGE = 10_000;
const READ_SCOPE = 'GET::agent/.*';

export interface RemoteVerifyResult {
  status: ChainStatus;
  station: string;
  keyId: string;
  /** What the core says it holds; the verdict above comes from the events it served. */
  acceptedUpTo: number;
}

interface EnrolledStationJson {
  station_id: string;
  key_id: string;
  public_key: string;
  chain: { accepted_up_to: number; last_hash: string };
}

export async function verifyRemoteTrail(
  t: RemoteTarget,
  station: string,
  opts: { anchors?: Anchor[] } = {},
): Promise<RemoteVerifyResult> {
  const st = await remoteRequest(t, 'GET', `agent/imports/stations/${encodeURIComponent(station)}`);
  if (st.status !== 200) throw refusal(t, `read station ${station}`, st, READ_SCOPE);
  const enrolled = (st.body?.data ?? {}) as EnrolledStationJson;
  const held = enrolled.chain.accepted_up_to;
  // Anchors past what the core holds are events not synced yet: nothing the central copy can reach.
  const anchors = (opts.anchors ?? []).filter((a) => a.seq <= held);
  const checker = new ChainChecker({ fromSeq: 1, trustedKeyIds: [enrolled.key_id], anchors });
  let from = 1;
  while (!checker.done && from <= held) {
    const to = Math.min(from + PAGE - 1, held);
    const q = new URLSearchParams({ station, from_seq: String(from), to_seq: String(to), limit: String(PAGE) });
    const page = await remoteRequest(t, 'GET', `agent/audit/events?${q}`);
    if (page.status !== 200) throw refusal(t, `read the central audit of ${station}`, page, READ_SCOPE);
    const events = ((page.body?.data as { events?: AuditEvent[] } | undefined)?.events ?? []).sort((a, b) => a.seq - b.seq);
    for (const e of events) {
      // The key id is a short hash of a key: the key each summary embeds must be the enrolled one itself.
      const key = e.step === 'batch-close' ? (e.data as { publicKey?: string } | undefined)?.publicKey : undefined;
      if (key !== undefined && key !== enrolled.public_key) {
        checker.fail(e.seq, `batch ${e.batchId ?? '?'} is signed by a key other than the one enrolled (${enrolled.key_id})`);
        break;
      }
      checker.push(e);
      if (checker.done) break;
    }
    // The window is one page wide: fewer events than asked for is a hole in the copy, named by the checker.
    if (!checker.done && events.length < to - from + 1)
      checker.fail(checker.nextSeq(), 'the core does not serve this event of the chain it says it holds');
    from = to + 1;
  }
  let status = checker.finish();
  if (status.ok && status.lastHash !== enrolled.chain.last_hash && held > 0)
    status = {
      ok: false,
      events: status.events,
      brokenAt: held,
      reason: 'the chain head the core reports is not the last event it serves',
    };
  return { status, station, keyId: enrolled.key_id, acceptedUpTo: held };
}
