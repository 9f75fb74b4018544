// The shape of the audit trail, shared by the station, the UI, sync and the central audit.

export type AuditOutcome = 'ok' | 'fail' | 'info';

/** What a caller appends. Never a secret: `secretFingerprint` (src/common/secret-fingerprint.ts) only. */
export interface AuditEventInput {
  station: string;
  operator?: string;
  fixture?: string;
  batchId?: string;
  deviceId?: string;
  hardwareSerial?: string;
  /** e.g. identify, cross-check, register, write-secret, verify, lock, write-config, record, batch-open, settings-change */
  step: string;
  outcome: AuditOutcome;
  errorCode?: string;
  message?: string;
  durationMs?: number;
  secretFingerprint?: string;
  /** Small, non-secret structured details. */
  data?: Record<string, unknown>;
}

/** A stored event: numbered, timestamped and chained by SHA-256 to the previous one. */
export interface AuditEvent extends AuditEventInput {
  seq: number;
  /** ISO 8601 UTC with milliseconds. */
  ts: string;
  prevHash: string;
  hash: string;
}

export interface AuditQuery {
  deviceId?: string;
  hardwareSerial?: string;
  batchId?: string;
  operator?: string;
  station?: string;
  outcome?: AuditOutcome;
  step?: string;
  /** ISO timestamps, inclusive. */
  from?: string;
  to?: string;
  limit?: number;
  /** Return events with seq < beforeSeq (newest first paging). */
  beforeSeq?: number;
}

export type ChainStatus =
  | {
      ok: true;
      events: number;
      lastHash: string;
      /** Seq of the first verified event (an export of one batch starts mid-chain). */
      firstSeq?: number;
      /** Batch-close events whose signature was verified (exports). */
      signedBatches?: number;
      /** Anchors the trail reached: its chain-head checkpoint, anchors given to verify, an export's signed trailer. */
      anchors?: { source: string; seq: number }[];
      /** Ids of the station keys whose signatures were verified (pin them with --key-id). */
      keyIds?: string[];
      /** A selection export: the search it names (its events are not a stretch of the chain). */
      selection?: Record<string, string>;
      /** What a careful reader should know although nothing is broken (e.g. events not anchored yet). */
      notes?: string[];
    }
  | { ok: false; events: number; brokenAt: number; reason: string };

export interface BatchSummary {
  total: number;
  passed: number;
  failed: number;
  failuresByCode: Record<string, number>;
  firstEventHash?: string;
  lastEventHash?: string;
}

export interface Batch {
  id: string;
  workOrder: string;
  operator: string;
  station: string;
  openedAt: string;
  closedAt?: string;
  /** Registered in the station's embedded core while the remote core was unreachable. */
  offline: boolean;
  summary?: BatchSummary;
  /** Signature over the closed summary (base64), and the key id that made it. */
  signature?: string;
  signingKeyId?: string;
}
