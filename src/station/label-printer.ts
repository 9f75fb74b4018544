// Label printing on PASS: a ZPL template filled with the device's fields, sent raw to a network
// printer (TCP, port 9100 by default) or to a CUPS queue (`lp -o raw`).
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import type { LabelPrinterSettings } from './plant-types.ts';
import { StationError } from './station-errors.ts';

/** Serial and device id in text, and the device id as a DataMatrix (^BX). */
export const DEFAULT_LABEL_TEMPLATE =
  '^XA^CI28\n^FO30,30^A0N,36,36^FDS/N {serial}^FS\n^FO30,75^A0N,28,28^FDID {deviceId}^FS\n^FO30,115^A0N,24,24^FDWO {workOrder}^FS\n^FO420,25^BXN,5,200^FD{deviceId}^FS\n^XZ\n';

export interface LabelFields {
  serial?: string;
  deviceId?: string;
  workOrder?: string;
  batchId?: string;
}

const SEND_TIMEOUT_MS = 5000;

/**
 * The label's ZPL. Field values lose ^ and ~ (ZPL's command prefixes) and line breaks, so a
 * scanned label can never inject printer commands.
 */
export function renderLabel(template: string, fields: LabelFields): string {
  return template.replace(/\{(serial|deviceId|workOrder|batchId)\}/g, (_m, k: keyof LabelFields) =>
    (fields[k] ?? '').replace(/[\^~\r\n]/g, ''),
  );
}

/** Sends the label; rejects with LABEL_PRINT_FAILED naming the printer and why. */
export async function sendLabel(printer: LabelPrinterSettings, zpl: string): Promise<void> {
  try {
    if (printer.kind === 'tcp') await sendTcp(printer.host, printer.port ?? 9100, Buffer.from(zpl, 'utf8'));
    else await sendCups(printer.queue, Buffer.from(zpl, 'utf8'));
  } catch (e) {
    const where = printer.kind === 'tcp' ? `${printer.host}:${printer.port ?? 9100}` : `CUPS queue ${printer.queue}`;
    throw new StationError('LABEL_PRINT_FAILED', `${where}: ${(e as Error).message}`, { cause: e });
  }
}

function sendTcp(host: string, port: number, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => socket.destroy(new Error(`no answer within ${SEND_TIMEOUT_MS / 1000} s`)), SEND_TIMEOUT_MS);
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.once('connect', () => socket.end(data));
    socket.once('close', (hadError) => {
      clearTimeout(timer);
      if (!hadError) resolve();
    });
  });
}

function sendCups(queue: string, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const lp = spawn('lp', ['-d', queue, '-o', 'raw'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    const timer = setTimeout(() => lp.kill('SIGKILL'), SEND_TIMEOUT_MS);
    lp.stderr.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-300);
    });
    lp.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    lp.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(err.trim() || `lp exited with ${code}`));
    });
    lp.stdin.on('error', () => {});
    lp.stdin.end(data);
  });
}

/** Settings' "Test print": a sample label, and whether the printer took it. */
export async function testLabelPrinter(
  printer: LabelPrinterSettings | undefined,
  template = DEFAULT_LABEL_TEMPLATE,
): Promise<{ path: string; ok: boolean; answered: 'device' | 'error'; detail: string }> {
  if (!printer) return { path: '', ok: false, answered: 'error', detail: 'No label printer is configured' };
  const path = printer.kind === 'tcp' ? `${printer.host}:${printer.port ?? 9100}` : `cups:${printer.queue}`;
  try {
    await sendLabel(printer, renderLabel(template, { serial: 'TEST-LABEL', deviceId: 'TEST-DEVICE-ID', workOrder: 'TEST' }));
    return { path, ok: true, answered: 'device', detail: 'The printer took a test label' };
  } catch (e) {
    return { path, ok: false, answered: 'error', detail: (e as Error).message };
  }
}
