import assert from 'node:assert/strict';
import { once } from 'node:events';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { bundledModule, VERIFY_WORKER_SOURCE, verifyWorkerModule } from '../../src/audit/verify-worker-bundle.ts';
import { startWorker } from '../../src/common/typescript-worker.ts';
import { tempDir } from './audit-fixtures.ts';

/** What a worker started on `module` posts first. */
async function runWorker(module: URL): Promise<unknown> {
  const w = startWorker(module);
  try {
    const [msg] = await once(w, 'message');
    return msg;
  } finally {
    await w.terminate();
  }
}

describe('verify workers start from a bundle of their sources', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());
  const src = join(tmp.dir, 'src');
  const cache = join(tmp.dir, 'cache');
  const entry = pathToFileURL(join(src, 'entry.ts'));
  const writeSources = (word: string) => {
    writeFileSync(
      join(src, 'entry.ts'),
      "import { parentPort } from 'node:worker_threads';\nimport { word } from './word.ts';\nparentPort?.postMessage(word());\n",
    );
    writeFileSync(join(src, 'word.ts'), `export const word = (): string => '${word}';\n`);
  };

  test('a TypeScript module and what it imports become one .mjs in a private folder, which runs as it is', async () => {
    mkdirSync(src, { recursive: true });
    writeSources('one');
    const url = bundledModule(entry, cache);
    assert.ok(url, 'a bundle was built');
    assert.match(url.pathname, /\.mjs$/);
    assert.equal(statSync(cache).mode & 0o777, 0o700);
    assert.equal(statSync(url).mode & 0o777, 0o600);
    assert.equal(await runWorker(url), 'one');
    const manifest = readdirSync(cache).find((f) => f.endsWith('.json')) as string;
    assert.deepEqual(Object.keys(JSON.parse(readFileSync(join(cache, manifest), 'utf8')).inputs).sort(), [
      join(src, 'entry.ts'),
      join(src, 'word.ts'),
    ]);
  });

  test('the bundle is reused while its sources are unchanged and rebuilt when one of them changes', async () => {
    const first = bundledModule(entry, cache) as URL;
    const builtAt = statSync(first).mtimeMs;
    const again = bundledModule(entry, cache) as URL;
    assert.equal(again.href, first.href);
    assert.equal(statSync(again).mtimeMs, builtAt, 'not written again');
    writeSources('two');
    const rebuilt = bundledModule(entry, cache) as URL;
    assert.notEqual(rebuilt.href, first.href);
    assert.equal(await runWorker(rebuilt), 'two', 'the change of an imported module is in the bundle');
  });

  test('a bundle changed on disk is not run: it is built again from the sources', async () => {
    const url = bundledModule(entry, cache) as URL;
    writeFileSync(url, "import { parentPort } from 'node:worker_threads'; parentPort?.postMessage('tampered');\n");
    const again = bundledModule(entry, cache) as URL;
    assert.equal(await runWorker(again), 'two');
  });

  test('a cache folder others can write to is not trusted: no bundle, the caller starts the source', () => {
    chmodSync(cache, 0o777);
    try {
      assert.equal(bundledModule(entry, cache), undefined);
    } finally {
      chmodSync(cache, 0o700);
    }
    assert.equal(bundledModule(entry, undefined), undefined);
  });

  test("the verify worker itself is bundled, from verify-worker.ts and the chain's modules", () => {
    const url = verifyWorkerModule();
    assert.notEqual(url.href, VERIFY_WORKER_SOURCE.href);
    assert.match(url.pathname, /verify-worker-[0-9a-f]+\.mjs$/);
    const text = readFileSync(url, 'utf8');
    assert.match(text, /function walkSegment/);
    assert.match(text, /function bodyProblem/);
    assert.doesNotMatch(text, /from ["']better-sqlite3["']/, 'better-sqlite3 is loaded from where the parent found it');
  });
});
