// Server-sent events over a fetch stream, for Node-side clients (the Electron main process, tests)
// where there is no EventSource. Reconnects after a pause until closed.

export function openFetchEventStream(
  url: string,
  onData: (data: string) => void,
  opts: { retryMs?: number; fetch?: typeof fetch } = {},
): () => void {
  const controller = new AbortController();
  const doFetch = opts.fetch ?? fetch;
  const retryMs = opts.retryMs ?? 1000;

  const run = async (): Promise<void> => {
    while (!controller.signal.aborted) {
      try {
        const res = await doFetch(url, { signal: controller.signal, headers: { accept: 'text/event-stream' } });
        if (!res.ok || !res.body) throw new Error(`event stream answered ${res.status}`);
        const decoder = new TextDecoder();
        let buffer = '';
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let end = buffer.indexOf('\n\n');
          while (end >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = parseEventData(block);
            if (data !== undefined) onData(data);
            end = buffer.indexOf('\n\n');
          }
        }
      } catch {
        // Dropped or refused: retry below unless closed.
      }
      if (controller.signal.aborted) return;
      await new Promise((r) => setTimeout(r, retryMs));
    }
  };
  void run();
  return () => controller.abort();
}

/** The joined `data:` lines of one SSE block, or undefined for comments/keep-alives. */
export function parseEventData(block: string): string | undefined {
  const lines = block.split('\n').filter((l) => l.startsWith('data:'));
  if (lines.length === 0) return undefined;
  return lines.map((l) => l.slice(5).replace(/^ /, '')).join('\n');
}
