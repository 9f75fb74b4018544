// The operator's scan field takes the focus back after every action, so the next scan (or a
// scanner's CR) never lands on a button. One field at a time registers itself here.
let field: HTMLInputElement | null = null;

export function registerScanField(el: HTMLInputElement | null): void {
  field = el;
}

/** Give the focus back to the scan field, if the operator view shows one. */
export function focusScanField(): void {
  if (field?.isConnected && !field.disabled) field.focus();
}

export function scanFieldFocused(): boolean {
  return !!field && document.activeElement === field;
}

// Keys typed right after F1, while the operator view is on its way: a keyboard-wedge scanner types a badge
// or a label within milliseconds, before the view (and its scan field) is there. Without this they land in
// the leaving view's input, or nowhere. Held for at most HOLD_MS, then replayed into the field.
const HOLD_MS = 3000;
let held: { keys: string; since: number } | null = null;

/** F1: hold the keys that come before the scan field does (nothing to hold when it is already there). */
export function holdScanKeys(): void {
  held = field?.isConnected ? null : { keys: '', since: Date.now() };
}

/** Another view was chosen: nothing is held for the scan field. */
export function dropScanKeys(): void {
  held = null;
}

/** A key that types a character (what a scanner sends, besides Enter). */
export function isPrintableKey(e: KeyboardEvent): boolean {
  return e.key.length === 1 && !e.ctrlKey && !e.altKey && !e.metaKey;
}

/** Whether `e` was held for the scan field on its way (a printable key or Enter); the caller then stops it. */
export function holdScanKey(e: KeyboardEvent): boolean {
  if (!held || field?.isConnected) return false;
  if (Date.now() - held.since > HOLD_MS) {
    held = null;
    return false;
  }
  if (e.key === 'Enter') held.keys += '\n';
  else if (isPrintableKey(e)) held.keys += e.key;
  else return false;
  return true;
}

/** The keys held for the scan field (once): each line ended by Enter is a scan, the rest the field's text. */
export function takeHeldScanKeys(): { scans: string[]; text: string } {
  const keys = held?.keys ?? '';
  held = null;
  const lines = keys.split('\n');
  const text = lines.pop() ?? '';
  return { scans: lines.map((l) => l.trim()).filter(Boolean), text };
}
