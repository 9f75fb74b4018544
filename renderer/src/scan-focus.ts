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
