// The transcript blocks of docs/device-protocol.md: ```transcript [station] [key=value…]
import { readFileSync } from 'node:fs';

export interface TranscriptBlock {
  /** Simulator settings the block needs, e.g. mac=… or max=128. */
  options: Record<string, string>;
  /** The station's own sequence (section 6). */
  station: boolean;
  lines: string[];
}

export function transcriptBlocks(): TranscriptBlock[] {
  const doc = readFileSync(new URL('../../docs/device-protocol.md', import.meta.url), 'utf8');
  return [...doc.matchAll(/```transcript([^\n]*)\n([\s\S]*?)```/g)].map((m) => {
    const words = m[1].trim().split(/\s+/).filter(Boolean);
    const options = Object.fromEntries(words.filter((w) => w.includes('=')).map((w) => w.split('=')));
    return { options, station: words.includes('station'), lines: m[2].trim().split('\n') };
  });
}
