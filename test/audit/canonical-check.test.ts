// The canonical-form check of verify against its definition: "parse (refusing duplicates),
// serialise by the rules, compare" — on chosen cases and on many random events and mutations.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { canonicalBody } from '../../src/audit/audit-canonical.ts';
import type { AuditEvent } from '../../src/audit/audit-types.ts';
import { BODY_MEMBERS, bodyProblem, jsonValueProblem, MAX_DATA_DEPTH, wellFormed } from '../../src/audit/canonical-check.ts';

const Z = '0'.repeat(64);
const head = `{"v":1,"seq":7,"prevHash":"${Z}"`;
const body = (rest: string) => `${head}${rest}}`;

const STRING_MEMBERS = new Set(BODY_MEMBERS.filter((m) => !['v', 'seq', 'prevHash', 'durationMs', 'data'].includes(m)));

function depthOf(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0;
  const inner = Object.values(v as object).map(depthOf);
  return 1 + (inner.length ? Math.max(...inner) : 0);
}

/** The definition, written the slow and obvious way. */
function oracleCanonical(text: string): boolean {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text);
  } catch {
    return false;
  }
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return false;
  if (o.v !== 1 || !Number.isSafeInteger(o.seq) || (o.seq as number) < 1) return false;
  if (typeof o.prevHash !== 'string' || !/^[0-9a-f]{64}$/.test(o.prevHash)) return false;
  for (const [k, v] of Object.entries(o)) {
    if (STRING_MEMBERS.has(k) && (typeof v !== 'string' || v === '' || /[\ud800-\udfff]/u.test(v))) return false;
    if (k === 'durationMs' && typeof v !== 'number') return false;
    if (k === 'data' && (v === null || typeof v !== 'object' || Array.isArray(v) || depthOf(v) > MAX_DATA_DEPTH)) return false;
  }
  const { v: _v, ...e } = o;
  // Serialising the parsed value drops repeated members, so a text with duplicates differs.
  return canonicalBody(e as unknown as AuditEvent) === text;
}

describe('canonical form of an event body', () => {
  const cases: [string, string, boolean][] = [
    ['a plain event', body(',"station":"s","step":"record","outcome":"ok","durationMs":812.5'), true],
    ['a duplicate member', body(',"outcome":"fail","step":"x","outcome":"ok"'), false],
    ['the same member twice in a row', body(',"outcome":"fail","outcome":"ok"'), false],
    ['members out of order', body(',"step":"x","station":"s"'), false],
    ['an unknown member', body(',"evil":"x"'), false],
    ['whitespace', `${head}, "station":"s"}`, false],
    ['an empty string', body(',"message":""'), false],
    ['a null member', body(',"message":null'), false],
    ['a number where a string belongs', body(',"station":5'), false],
    ['v 2', `{"v":2,"seq":7,"prevHash":"${Z}"}`, false],
    ['no prevHash', '{"v":1,"seq":7}', false],
    ['an upper-case hash', `{"v":1,"seq":7,"prevHash":"${'A'.repeat(64)}"}`, false],
    ['seq 0', `{"v":1,"seq":0,"prevHash":"${Z}"}`, false],
    ['seq past 2^53', `{"v":1,"seq":9007199254740993,"prevHash":"${Z}"}`, false],
    ['seq with leading zero', `{"v":1,"seq":07,"prevHash":"${Z}"}`, false],
    ['1e16 written out', body(',"durationMs":10000000000000000'), true],
    ['1e16 in exponent form', body(',"durationMs":1e16'), false],
    ['1e21', body(',"durationMs":1e+21'), true],
    ['1e21 without sign', body(',"durationMs":1e21'), false],
    ['1e-7', body(',"durationMs":1e-7'), true],
    ['0.0000001', body(',"durationMs":0.0000001'), false],
    ['0.000001', body(',"durationMs":0.000001'), true],
    ['-0', body(',"durationMs":-0'), false],
    ['1.50', body(',"durationMs":1.50'), false],
    ['1.0', body(',"durationMs":1.0'), false],
    ['5e-324', body(',"durationMs":5e-324'), true],
    ['an escaped slash', body(',"message":"a\\/b"'), false],
    ['an escaped letter', body(',"message":"\\u0041"'), false],
    ['an upper-case escape', body(',"message":"\\u001B"'), false],
    ['a lower-case control escape', body(',"message":"\\u001b"'), true],
    ['a tab as \\u0009', body(',"message":"\\u0009"'), false],
    ['a tab as \\t', body(',"message":"\\t"'), true],
    ['a raw control character', body(',"message":"a\u0001b"'), false],
    ['DEL and U+2028 as themselves', body(',"message":"\u007f\u2028é😀"'), true],
    ['a lone surrogate, escaped, outside data', body(',"message":"\\ud800x"'), false],
    ['a lone surrogate, escaped, in data', body(',"data":{"a":"\\ud800x"}'), true],
    ['a lone surrogate, raw', body(',"message":"\ud800x"'), false],
    ['an escaped surrogate pair', body(',"message":"\\ud83d\\ude00"'), false],
    ['data with sorted keys', body(',"data":{"10":1,"9":2,"a":[true,false,null,{"b":{}}],"é":"ü"}'), true],
    ['data with keys in insertion order', body(',"data":{"b":1,"a":2}'), false],
    ['data with a duplicate key', body(',"data":{"a":1,"a":2}'), false],
    ['data in UTF-16 order (U+1F600 = D83D DE00 before U+FF5E)', body(',"data":{"😀":2,"～":1}'), true],
    ['data in code point order', body(',"data":{"～":1,"😀":2}'), false],
    ['data that is an array', body(',"data":[1]'), false],
    ['data nested 100 deep', body(`,"data":${'{"a":'.repeat(99)}[1]${'}'.repeat(99)}`), true],
    ['data nested 101 deep', body(`,"data":${'{"a":'.repeat(100)}[1]${'}'.repeat(100)}`), false],
    ['text after the body', `${body('')} `, false],
  ];
  for (const [name, text, canonical] of cases)
    test(`${name}: ${canonical ? 'canonical' : 'refused'}`, () => {
      assert.equal(bodyProblem(text) === undefined, canonical, bodyProblem(text));
      assert.equal(oracleCanonical(text), canonical, 'the definition agrees');
    });

  test('random events are canonical as written, and random mutations are judged as the definition judges them', () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const ALPHABET = [
      'a',
      'Z',
      '0',
      ' ',
      '"',
      '\\',
      '/',
      '\n',
      '\t',
      '\u0001',
      '\u007f',
      'é',
      '\u2028',
      '😀',
      '\ud800',
      '\udfff',
      '～',
      '\ufffd',
    ];
    const str = () => Array.from({ length: 1 + rnd(6) }, () => ALPHABET[rnd(ALPHABET.length)]).join('');
    const NUMBERS = [0, 1, -1, 1.5, 1e16, 1e21, 1e-7, 1e-6, 123.456, 2 ** 53, 5e-324, -0.25, 1e300];
    const value = (depth: number): unknown => {
      const k = rnd(depth > 3 ? 3 : 6);
      if (k === 0) return str();
      if (k === 1) return NUMBERS[rnd(NUMBERS.length)];
      if (k === 2) return [true, false, null][rnd(3)];
      if (k === 3) return Array.from({ length: rnd(3) }, () => value(depth + 1));
      return Object.fromEntries(Array.from({ length: rnd(4) }, () => [str(), value(depth + 1)]));
    };
    const MUTATIONS: ((t: string) => string)[] = [
      (t) => t.replace('"outcome":', '"outcome":"x","outcome":'),
      (t) => t.replace(/(\d)\.(\d+)/, '$1.$20'),
      (t) => t.replace(/:(\d+)([,}])/, ':$1.0$2'),
      (t) => t.replace(',"', ', "'),
      (t) => t.replace('\\n', '\\u000a'),
      (t) => t.replace('é', '\\u00e9'),
      (t) => t.replace('/', '\\/'),
      (t) => t.replace(/"data":\{"([^"]*)":/, '"data":{"$1":0,"$1":'),
      (t) => t.replace(/\\ud800/, '\\uD800'),
      (t) => t.replace(/1e\+21/, '1e21'),
      (t) => t.replace(/"step":"[^"]*",/, ''),
      (t) => t.replace(/,"message":"[^"]*"/, ',"message":""'),
    ];
    let mutated = 0;
    for (let i = 0; i < 5000; i++) {
      const e = {
        seq: 1 + rnd(1000),
        prevHash: Z,
        ts: '2026-11-23T00:00:00.000Z',
        // Members other than data are well-formed Unicode (append replaces lone surrogates).
        station: wellFormed(str()),
        operator: rnd(2) ? wellFormed(str()) : undefined,
        step: 'record',
        outcome: 'ok',
        message: rnd(2) ? wellFormed(str()) : undefined,
        durationMs: rnd(2) ? (NUMBERS[rnd(NUMBERS.length)] as number) : undefined,
        data: rnd(2)
          ? (Object.fromEntries(Array.from({ length: rnd(4) }, () => [str(), value(1)])) as Record<string, unknown>)
          : undefined,
      };
      const text = canonicalBody(e as unknown as AuditEvent);
      assert.equal(bodyProblem(text), undefined, text);
      const m = MUTATIONS[rnd(MUTATIONS.length)](text);
      if (m === text) continue;
      mutated++;
      assert.equal(bodyProblem(m) === undefined, oracleCanonical(m), m);
    }
    assert.ok(mutated > 1000, `only ${mutated} mutations applied`);
  });

  test('a CSV data cell or an export header is checked as one canonical value', () => {
    assert.equal(jsonValueProblem('{"a":1,"b":[2]}', { object: true }), undefined);
    assert.match(jsonValueProblem('{"b":1,"a":2}', { object: true }) ?? '', /order/);
    assert.match(jsonValueProblem('[1]', { object: true }) ?? '', /not a JSON object/);
    assert.match(jsonValueProblem('1.50') ?? '', /canonical/);
    assert.equal(jsonValueProblem('1.5'), undefined);
  });
});
