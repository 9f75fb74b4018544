// Batch summaries: what a batch-close event carries, the exact text that is signed, and its check.
import { canonicalJson } from './audit-canonical.ts';
import type { Batch, BatchSummary } from './audit-types.ts';
import { keyIdOf, verifySignature } from './station-signing-key.ts';

/** The batch fields bound into the signature. */
export interface BatchIdentity {
  id: string;
  workOrder: string;
  operator: string;
  station: string;
  offline: boolean;
  openedAt: string;
  closedAt?: string;
}

/** `data` of a batch-close event. */
export interface BatchCloseData {
  batch: BatchIdentity;
  summary: BatchSummary;
  signature: string;
  signingKeyId: string;
  /** Base64 SPKI of the station's Ed25519 key, so an export verifies offline. */
  publicKey: string;
}

const SIGNED_PREFIX = 'imprint-batch-summary/1\n';

/** The signed text: a fixed prefix line, then canonical JSON of {batch, summary}. */
export function signedBatchText(batch: BatchIdentity, summary: BatchSummary): string {
  return SIGNED_PREFIX + canonicalJson({ batch, summary });
}

export function identityOf(b: Batch): BatchIdentity {
  const id: BatchIdentity = {
    id: b.id,
    workOrder: b.workOrder,
    operator: b.operator,
    station: b.station,
    offline: b.offline,
    openedAt: b.openedAt,
  };
  if (b.closedAt) id.closedAt = b.closedAt;
  return id;
}

/** Why a batch-close payload does not verify, or undefined when it does. */
export function batchCloseProblem(
  batchId: string | undefined,
  data: unknown,
  trustedKeyIds?: readonly string[],
): string | undefined {
  const d = data as Partial<BatchCloseData> | undefined;
  if (!d?.batch || !d.summary || typeof d.signature !== 'string' || typeof d.publicKey !== 'string')
    return 'batch-close event without a signed summary';
  if (d.batch.id !== batchId) return `batch-close summary names batch ${d.batch.id}, event is for ${batchId}`;
  const keyId = keyIdOf(d.publicKey);
  if (d.signingKeyId !== keyId) return `bad batch signature: key id ${d.signingKeyId} does not match the embedded public key`;
  if (trustedKeyIds && !trustedKeyIds.includes(keyId)) return `bad batch signature: key ${keyId} is not a trusted station key`;
  if (!verifySignature(d.publicKey, signedBatchText(d.batch, d.summary), d.signature))
    return `bad batch signature for batch ${batchId}`;
  return undefined;
}

/** Compares a signed summary with counts recomputed from the events. */
export function summaryMismatch(signed: BatchSummary, recomputed: BatchSummary): string | undefined {
  const a = canonicalJson(signed);
  const b = canonicalJson(recomputed);
  return a === b ? undefined : `batch summary does not match its events (signed ${a}, events give ${b})`;
}
