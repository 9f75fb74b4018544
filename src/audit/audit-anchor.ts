// Anchors: facts about the trail kept outside the file that holds it ("event <seq> has hash
// <hash>"), which a verified trail must still reach. Sources: the chain-head checkpoint next to
// audit.db, a checkpoint QA exported or printed (`imprint audit anchor`), and (a seam for
// `audit verify --remote`) the head of the copy synced to the pairing core.
import { existsSync, readFileSync } from 'node:fs';
import { CommonError } from '../common/common-errors.ts';
import { type Checkpoint, checkpointSignatureProblem, parseCheckpoint } from './chain-checkpoint.ts';

export interface Anchor {
  seq: number;
  hash: string;
  /** Where the anchor comes from, for messages ("the anchor 1234:ab…", "the remote core …"). */
  source: string;
  /** Why the anchor itself cannot be trusted (e.g. a bad signature): the trail's end is not vouched for. */
  invalid?: string;
}

/** Where verification found the trail broken against an anchor (the earliest seq wins overall). */
export interface AnchorBreak {
  seq: number;
  reason: string;
}

const SHORT = /^(\d+):([0-9a-f]{64})$/;

/** The short printable form of an anchor: `<seq>:<hash>`. */
export function shortAnchor(a: { seq: number; hash: string }): string {
  return `${a.seq}:${a.hash}`;
}

export function anchorFromCheckpoint(c: Checkpoint, source: string, trustedKeyIds?: readonly string[]): Anchor {
  const problem = checkpointSignatureProblem(c, trustedKeyIds);
  return { seq: c.seq, hash: c.hash, source, invalid: problem && `${source} is not valid: ${problem}` };
}

/**
 * `--anchor` as given on the command line: `<seq>:<hash>`, a checkpoint's JSON text, or a file
 * holding either. Throws INVALID_ARGUMENT when it is none of these (a usage error, exit 2).
 */
export function parseAnchorArgument(arg: string, trustedKeyIds?: readonly string[]): Anchor {
  let text = arg.trim();
  let source = `the anchor ${text.length > 40 ? `${text.slice(0, 37)}…` : text}`;
  if (!SHORT.test(text) && !text.startsWith('{')) {
    if (!existsSync(arg))
      throw new CommonError('INVALID_ARGUMENT', `--anchor: no such file, and not <seq>:<hash> or a checkpoint: ${arg}`);
    text = readFileSync(arg, 'utf8').trim();
    source = `the anchor in ${arg}`;
  }
  const short = SHORT.exec(text);
  if (short) {
    const seq = Number(short[1]);
    if (!Number.isSafeInteger(seq)) throw new CommonError('INVALID_ARGUMENT', `--anchor: seq ${short[1]} is too large`);
    return { seq, hash: short[2], source };
  }
  const c = parseCheckpoint(text);
  if (typeof c === 'string') throw new CommonError('INVALID_ARGUMENT', `--anchor: ${c}`);
  return anchorFromCheckpoint(c, source, trustedKeyIds);
}

/** "the trail ends at event N", or that it holds none. */
export function endsAt(lastSeq: number): string {
  return lastSeq === 0 ? 'the trail holds no event' : `the trail ends at event ${lastSeq}`;
}

/**
 * Checks anchors against a chain verified up to `lastSeq` (its last event): each must name an event
 * the chain holds, with the same hash. Returns the earliest break.
 */
export function checkAnchors(
  anchors: readonly Anchor[],
  lastSeq: number,
  hashAt: (seq: number) => string | undefined,
): AnchorBreak | undefined {
  let first: AnchorBreak | undefined;
  const keep = (b: AnchorBreak) => {
    if (!first || b.seq < first.seq) first = b;
  };
  for (const a of anchors) {
    if (a.invalid) keep({ seq: lastSeq + 1, reason: a.invalid });
    else if (a.seq > lastSeq)
      keep({
        seq: lastSeq + 1,
        reason: `event ${lastSeq + 1} is missing: ${endsAt(lastSeq)}, but ${a.source} records event ${a.seq} (the end of the trail was cut)`,
      });
    else if (a.seq > 0 && hashAt(a.seq) !== a.hash)
      keep({
        seq: a.seq,
        reason: `event ${a.seq} is not the one ${a.source} records (hash ${a.hash.slice(0, 12)}…): the trail was cut at or before event ${a.seq} and written again`,
      });
  }
  return first;
}
