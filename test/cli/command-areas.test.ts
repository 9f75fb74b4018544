// `imprint --help` lists areas without loading them: the table must name exactly the top-level
// commands each area registers, or help would offer a command that does not exist (or hide one).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { AREAS, areaOf } from '../../src/cli/command-areas.ts';

const BIN = fileURLToPath(new URL('../../bin/imprint.mjs', import.meta.url));

test('each area registers exactly the top-level commands the help table lists', async () => {
  const everything = new Command('imprint');
  for (const area of AREAS) {
    const program = new Command('imprint');
    (await area.load())(program);
    const names = program.commands.map((c) => c.name()).sort();
    if ('completion' in area.commands) {
      // The completion area registers the whole tree, to complete it.
      assert.deepEqual(names, AREAS.flatMap((a) => Object.keys(a.commands)).sort());
      continue;
    }
    assert.deepEqual(names, Object.keys(area.commands).sort());
    (await area.load())(everything);
  }
  assert.equal(
    new Set(everything.commands.map((c) => c.name())).size,
    everything.commands.length,
    'no command is registered twice',
  );
});

test('a command line loads the area it names, help included', () => {
  assert.ok(areaOf(['node', 'imprint', 'station', 'run'])?.commands.station);
  assert.ok(areaOf(['node', 'imprint', 'help', 'batch'])?.commands.batch);
  assert.equal(areaOf(['node', 'imprint', '--help']), undefined);
  assert.equal(areaOf(['node', 'imprint', 'nope']), undefined);
});

test('imprint --help lists every area, and an unknown command is a usage error', () => {
  const help = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  for (const area of AREAS) for (const name of Object.keys(area.commands)) assert.match(help.stdout, new RegExp(`\\n  ${name} `));
  const wrong = spawnSync(process.execPath, [BIN, 'nope'], { encoding: 'utf8' });
  assert.equal(wrong.status, 2);
  assert.match(wrong.stderr, /unknown command 'nope'/);
});
