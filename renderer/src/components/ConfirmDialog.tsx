// A deliberate, confirmed action (stop the line, close a batch, sign out): a modal dialog whose
// focused button is Cancel, so Enter, Space or a scanner's CR cancels. Esc cancels, and so does
// any printable key: a scan arriving while the dialog is up is not a confirmation, and the
// operator view's scan field gets the keys.
import { useEffect, useRef } from 'react';

export interface ConfirmRequest {
  title: string;
  body: string;
  confirmLabel: string;
  onConfirm: () => void;
}

export function ConfirmDialog({ request, onClose }: { request?: ConfirmRequest; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (request && !dialog.open) {
      dialog.showModal();
      cancelRef.current?.focus();
    } else if (!request && dialog.open) dialog.close();
  }, [request]);

  const cancel = () => {
    ref.current?.close();
    onClose();
  };

  return (
    <dialog
      ref={ref}
      className="confirm"
      aria-labelledby="confirm-title"
      data-testid="confirm-dialog"
      onCancel={(e) => {
        e.preventDefault();
        cancel();
      }}
      onKeyDown={(e) => {
        if (e.key.length === 1 && e.key !== ' ' && !e.ctrlKey && !e.altKey && !e.metaKey) cancel();
      }}
    >
      {request && (
        <>
          <h2 id="confirm-title">{request.title}</h2>
          <p>{request.body}</p>
          <div className="row confirm-buttons">
            <button ref={cancelRef} type="button" className="btn btn-primary" data-testid="confirm-cancel" onClick={cancel}>
              Cancel
            </button>
            <button
              type="button"
              className="btn btn-stop"
              data-testid="confirm-ok"
              onClick={() => {
                ref.current?.close();
                onClose();
                request.onConfirm();
              }}
            >
              {request.confirmLabel}
            </button>
          </div>
        </>
      )}
    </dialog>
  );
}
