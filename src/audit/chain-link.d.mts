// Types for chain-link.mjs (plain JavaScript so that verify workers need no TypeScript loader).
import type { Database } from 'better-sqlite3';

export declare const GENESIS_HASH: string;
export declare const EVENT_FORMAT_VERSION: number;
export declare function linkPrefix(seq: number, prevHash: string): string;
export declare function hashBody(body: string): string;
export declare function packEntry(hash: string, body: string): string;
export declare function entryHash(entry: string): string;
export declare function entryBody(entry: string): string;
export declare function bodySeq(body: string): number | undefined;
export declare function bodyPrevHash(body: string): string | undefined;
export declare function isDamage(e: unknown): boolean;

export type SegmentFailureKind = 'hash' | 'link' | 'seq' | 'malformed' | 'canonical' | 'damaged';

export interface SegmentResult {
  count: number;
  firstPrevHash?: string;
  lastHash?: string;
  /** Last seq walked when the segment completed; absent after a failure. */
  endSeq?: number;
  failure?: { seq: number; kind: SegmentFailureKind; claimedSeq?: number; storedHash?: string; detail?: string };
}

export declare function walkSegment(
  db: Database,
  fromSeq: number,
  toSeq: number,
  progress?: Int32Array,
  progressIndex?: number,
): SegmentResult;
