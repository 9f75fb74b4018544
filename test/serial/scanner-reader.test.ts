import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLabel } from '../../src/serial/label-parser.ts';
import { ScannerReader, type ScannerReaderOptions, type ScanRead } from '../../src/serial/scanner-reader.ts';
import { createDuplexPair } from '../../src/sim/duplex-pair.ts';
import { emitScans } from '../../src/sim/scanner-simulator.ts';

async function collect(labels: string[], emit: Parameters<typeof emitScans>[2], readerOpts: ScannerReaderOptions = {}) {
  const [station, scanner] = createDuplexPair();
  const reader = new ScannerReader(station, readerOpts);
  const scans: ScanRead[] = [];
  const duplicates: ScanRead[] = [];
  reader.on('scan', (r) => scans.push(r));
  reader.on('duplicate', (r) => duplicates.push(r));
  await emitScans(scanner, labels, emit);
  await new Promise((r) => setTimeout(r, 20));
  station.destroy();
  return { scans, duplicates };
}

describe('scanner reader', () => {
  it('strips AIM symbology identifiers and keeps them for the label parser', async () => {
    const { scans } = await collect(['010950600013435221SN55'], { aim: ']C1' });
    assert.deepEqual([scans[0].text, scans[0].symbology], ['010950600013435221SN55', ']C1']);
    assert.equal(parseLabel(scans[0].text, { symbology: scans[0].symbology }).value, 'SN55');
    const qr = await collect(['https://id.example.com/01/09506000134352/21/SN6'], { aim: ']Q3' });
    assert.equal(qr.scans[0].text, 'https://id.example.com/01/09506000134352/21/SN6');
  });

  it('strips a configured prefix and suffix, with any line ending, across split writes', async () => {
    for (const terminator of ['\r', '\n', '\r\n']) {
      const { scans } = await collect(
        ['SN100', 'SN101'],
        { prefix: 'STX>', suffix: '<ETX', terminator, split: true },
        { prefix: 'STX>', suffix: '<ETX' },
      );
      assert.deepEqual(
        scans.map((s) => s.text),
        ['SN100', 'SN101'],
      );
    }
  });

  it('reports repeated reads within the debounce window as duplicates, and later ones as new scans', async () => {
    let now = 1_000_000;
    const [station, scanner] = createDuplexPair();
    const reader = new ScannerReader(station, { debounceMs: 1000, now: () => now });
    const scans: string[] = [];
    let duplicates = 0;
    reader.on('scan', (r) => scans.push(r.text));
    reader.on('duplicate', () => duplicates++);
    const send = async (label: string, dup = 0) => {
      await emitScans(scanner, [label], { duplicates: dup });
      await new Promise((r) => setTimeout(r, 10));
    };
    await send('SN1', 3); // a long press: 4 reads
    now += 500;
    await send('SN2');
    now += 2000;
    await send('SN2'); // same label, outside the window: the operator scanned it again
    assert.deepEqual(scans, ['SN1', 'SN2', 'SN2']);
    assert.equal(duplicates, 3);
    station.destroy();
  });

  it('drops overlong lines without growing without bound', async () => {
    const { scans } = await collect(['X'.repeat(5000), 'SN200'], {}, { maxLineBytes: 256 });
    assert.deepEqual(
      scans.map((s) => s.text),
      ['SN200'],
    );
  });
});
