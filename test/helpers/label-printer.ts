// A network label printer (raw TCP, as ZPL printers listen on 9100) on 127.0.0.1 for tests: the bytes
// of each connection are one label, appended as text to `labels` when the connection ends.
import { createServer } from 'node:net';

export async function startLabelPrinter(labels: string[]): Promise<{ port: number; close: () => Promise<void> }> {
  const server = createServer((socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('end', () => labels.push(Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
