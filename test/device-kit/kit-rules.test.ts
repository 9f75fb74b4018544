// The kit checks exactly the rules the document states: every [ID] in docs/device-protocol.md has a
// line in the kit's report, and every line of the report points at a rule of the document.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { KIT_RULES, RULE_IDS } from '../../src/serial/conformance/kit-rules.ts';
import { DEVICE_DEVIATIONS } from '../../src/sim/device-sim-deviations.ts';

const doc = readFileSync(new URL('../../docs/device-protocol.md', import.meta.url), 'utf8');

it('the rule ids of the document and of the kit are the same set', () => {
  const inDoc = new Set([...doc.matchAll(/\*\*\[([A-Z]-[A-Z-]+)\]\*\*/g)].map((m) => m[1]));
  assert.deepEqual([...inDoc].sort(), [...RULE_IDS].sort());
});

it('manual rules are marked manual in the document, and every deviation breaks a rule of the kit', () => {
  for (const id of RULE_IDS.filter((r) => 'manual' in KIT_RULES[r])) {
    const at = doc.indexOf(`**[${id}]**`);
    assert.ok(doc.slice(Math.max(0, at - 120), at).includes('*(manual)*'), `${id} is marked *(manual)* in the document`);
  }
  for (const d of Object.values(DEVICE_DEVIATIONS)) assert.ok(RULE_IDS.includes(d.breaks), d.breaks);
});
