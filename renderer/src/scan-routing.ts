// What a line typed or scanned into the operator's scan field means. Badges sign in (the station
// reads them), `WO:` opens a batch, a plain name signs in while nobody is, anything else is a
// device label for the station. Pure, so every case is unit-tested.

export type ScanAction =
  /** A badge (OP:…, BADGE:…): the station reads it and signs its holder in (submitScan). */
  | { kind: 'badge'; text: string }
  /** A device label for the fixture waiting for one (submitScan). */
  | { kind: 'device'; text: string }
  | { kind: 'sign-in'; name: string }
  | { kind: 'open-batch'; workOrder: string }
  | { kind: 'refuse'; message: string };

/** The same prefixes the station reads as badges. */
const BADGE = /^(?:OP|BADGE)[:-]/i;
const WORK_ORDER = /^WO[:-]\s*(.*)$/i;
/** A person's name: letters, spaces and name punctuation; a digit makes it look like a label. */
const NAME = /^[\p{L}][\p{L}\p{M} .'’-]{0,99}$/u;

export function routeScan(raw: string, at: { signedIn: boolean; openWorkOrder?: string }): ScanAction {
  const text = raw.trim();
  if (BADGE.test(text)) return { kind: 'badge', text };
  const wo = WORK_ORDER.exec(text);
  if (wo) {
    if (!at.signedIn)
      return { kind: 'refuse', message: 'Sign in first (scan your badge or type your name), then scan the work order.' };
    if (at.openWorkOrder) {
      return {
        kind: 'refuse',
        message: `Batch ${at.openWorkOrder} is still open. Close it in Batches (F3) before opening ${wo[1].trim() || 'another'}.`,
      };
    }
    return { kind: 'open-batch', workOrder: wo[1].trim() };
  }
  if (!at.signedIn) {
    if (NAME.test(text)) return { kind: 'sign-in', name: text };
    return {
      kind: 'refuse',
      message: `Sign in first: scan your badge or type your name. “${text.slice(0, 40)}” looks like a device label, not a name.`,
    };
  }
  return { kind: 'device', text };
}
