// The scan field keeps the focus: keyboard-wedge scanners type the label then Enter, wherever the
// operator last clicked. Any printable key pressed outside another text field is steered here.
import { useEffect, useRef, useState } from 'react';

function isTextEntry(el: Element | null): boolean {
  return (
    !!el &&
    (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || (el as HTMLElement).isContentEditable)
  );
}

export function ScanField({ onScan, prompt }: { onScan: (text: string) => Promise<void>; prompt: string }) {
  const ref = useRef<HTMLInputElement>(null);
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    ref.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key.length === 1 && !e.ctrlKey && !e.altKey && !e.metaKey && !isTextEntry(document.activeElement)) {
        ref.current?.focus();
      }
    };
    // Focus left for nothing in particular (a click on the page): take it back.
    const onFocusOut = () =>
      setTimeout(() => {
        if (!document.activeElement || document.activeElement === document.body) ref.current?.focus();
      }, 0);
    window.addEventListener('keydown', onKey, true);
    document.addEventListener('focusout', onFocusOut);
    return () => {
      window.removeEventListener('keydown', onKey, true);
      document.removeEventListener('focusout', onFocusOut);
    };
  }, []);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const text = value.trim();
    if (!text || busy) return;
    setBusy(true);
    try {
      await onScan(text);
      setValue('');
    } finally {
      setBusy(false);
      ref.current?.focus();
    }
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
