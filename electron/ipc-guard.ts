// The only module that touches ipcMain. A handler can be registered only for an allow-listed
// channel (ipc-channels.ts), and it runs only for a message from the trusted frame: the top frame
// of our own window showing our own page. Anything else is refused before the handler sees it.
import { type BrowserWindow, type IpcMainEvent, type IpcMainInvokeEvent, ipcMain } from 'electron';
import { type InvokeChannel, IPC_CHANNELS, type IpcChannel, type IpcReply, type SendChannel } from './ipc-channels.ts';

export type SenderCheck = (event: IpcMainEvent | IpcMainInvokeEvent) => boolean;

export const REFUSED: IpcReply = {
  ok: false,
  error: { code: 'FORBIDDEN', message: 'Refused: not a station API call from the Imprint window' },
};

/** Trusted: sent by `window()`'s own web contents, from its top frame, showing `pageUrl` (fragment aside). */
export function fromPage(window: () => BrowserWindow | undefined, pageUrl: string): SenderCheck {
  return (event) => {
    const win = window();
    const frame = event.senderFrame;
    if (!win || win.isDestroyed() || event.sender !== win.webContents || !frame) return false;
    return frame.parent === null && frame.url.split('#')[0] === pageUrl;
  };
}

function allowed(channel: IpcChannel, kind: 'invoke' | 'send'): void {
  if (IPC_CHANNELS[channel] !== kind) throw new Error(`IPC channel ${channel} is not allow-listed for ${kind}`);
}

export function handleFromTrusted(
  channel: InvokeChannel,
  trusted: SenderCheck,
  handler: (event: IpcMainInvokeEvent, ...args: unknown[]) => Promise<IpcReply>,
): void {
  allowed(channel, 'invoke');
  ipcMain.handle(channel, (event, ...args: unknown[]) => (trusted(event) ? handler(event, ...args) : REFUSED));
}

export function onFromTrusted(channel: SendChannel, trusted: SenderCheck, listener: (event: IpcMainEvent) => void): void {
  allowed(channel, 'send');
  ipcMain.on(channel, (event) => {
    if (trusted(event)) listener(event);
  });
}
