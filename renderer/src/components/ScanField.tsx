// The scan field keeps the focus: keyboard-wedge scanners type the label then Enter, wherever the
// operator last clicked. Any printable key pressed outside another text field is steered here, a
// click on nothing in particular gives the focus back, and Esc brings it back from anywhere.
// Tab still walks the page (navigation included): leaving by Tab is not taken back.
import { useEffect, useRef, useState } from 'react';
import { focusScanField, isPrintableKey, registerScanField, takeHeldScanKeys } from '../scan-focus.ts';

function isTextEntry(el: Element | null): boolean {
  return (
    !!el &&
    (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || (el as HTMLElement).isContentEditable)
  );
}

/** Something a click deliberately focuses (a control), as opposed to text, a card or the page. */
function isControl(el: EventTarget | null): boolean {
  return el instanceof Element && !!el.closest('a[href], button, input, select, textarea, [tabindex], dialog');
}

export function ScanField({ onScan, prompt }: { onScan: (text: string) => Promise<void>; prompt: string }) {
  const ref = useRef<HTMLInputElement>(null);
  const [value, setValue] = useState('');
  // Scans are handled one after the other, in the order they came: a fast second scan is never lost.
  const queue = useRef<Promise<void>>(Promise.resolve());
  // The latest handler, for the keys held before the field was there (the mount effect runs once).
  const latestOnScan = useRef(onScan);
  latestOnScan.current = onScan;

  useEffect(() => {
    registerScanField(ref.current);
    ref.current?.focus();
    // What was typed after F1 before this field was there (see scan-focus.ts), in order.
    const early = takeHeldScanKeys();
    for (const text of early.scans) queue.current = queue.current.then(() => latestOnScan.current(text)).catch(() => {});
    if (early.text && ref.current) {
      // Into the element at once too: the scanner's next key may come before React renders this value.
      ref.current.value = early.text;
      setValue(early.text);
    }
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && !document.querySelector('dialog[open]')) {
        focusScanField();
        return;
      }
      if (isPrintableKey(e) && !isTextEntry(document.activeElement)) {
        ref.current?.focus();
      }
    };
    // A click on a card, a counter or the background: the next scan must still land here.
    const onPointerUp = (e: PointerEvent) => {
      if (!isControl(e.target)) setTimeout(focusScanField, 0);
    };
    window.addEventListener('keydown', onKey, true);
    window.addEventListener('pointerup', onPointerUp, true);
    return () => {
      window.removeEventListener('keydown', onKey, true);
      window.removeEventListener('pointerup', onPointerUp, true);
      registerScanField(null);
    };
  }, []);

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    const text = value.trim();
    setValue('');
    if (!text) return;
    queue.current = queue.current.then(() => onScan(text)).catch(() => {});
  };

  return (
    <form className="scan-form" onSubmit={submit}>
      <label htmlFor="scan-field" className="scan-label">
        {prompt}
      </label>
      <input
        id="scan-field"
        ref={ref}
        className="scan-field"
        data-testid="scan-field"
        autoComplete="off"
        spellCheck={false}
        value={value}
        onChange={(e) => setValue(e.target.value)}
        placeholder="Scan or type, then Enter"
      />
    </form>
  );
}
