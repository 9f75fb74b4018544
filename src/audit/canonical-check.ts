// Is a stored text exactly in canonical form (docs/audit-trail.md, "Canonical form")? One pass over
// the characters, no parsing into objects: verify runs this on every event of a 1,000,000-event
// chain. Canonical means the one text our writer produces for the facts, so the hash, the query
// columns (SQLite's json_extract keeps the first of two duplicate members, JSON.parse the last) and
// every reader see the same facts. Duplicate members cannot pass: members must be in strictly
// increasing order. Verify workers import it like every module (src/common/typescript-worker.ts).

/** Members of an event body, in their only allowed order. */
export const BODY_MEMBERS: readonly string[] = [
  'v',
  'seq',
  'prevHash',
  'ts',
  'station',
  'operator',
  'fixture',
  'batchId',
  'deviceId',
  'hardwareSerial',
  'step',
  'outcome',
  'errorCode',
  'message',
  'durationMs',
  'secretFingerprint',
  'data',
];

/** Deepest nesting of objects and arrays allowed in `data` (data itself is level 1). */
export const MAX_DATA_DEPTH = 100;

// `"name":` of each member, as character codes (compared in place: startsWith was the slowest part).
const MEMBER_CODES = BODY_MEMBERS.map((m) => Array.from(`"${m}":`, (ch) => ch.charCodeAt(0)));
type MemberKind = 'v' | 'seq' | 'hash' | 'number' | 'object' | 'string';
const KIND = BODY_MEMBERS.map((m): MemberKind => {
  if (m === 'v') return 'v';
  if (m === 'seq') return 'seq';
  if (m === 'prevHash') return 'hash';
  if (m === 'durationMs') return 'number';
  if (m === 'data') return 'object';
  return 'string';
});

const QUOTE = 34;
const BACKSLASH = 92;

// Scanners take the text and a position and return the position after what they read, or -1
// (the reason is left in `problem`). Locals only on the hot path: module-level state made each
// character several times slower.
let problem: string | undefined;
/**
 * True while scanning a text without any backslash, control character, surrogate or U+FFFD (the
 * usual event): a string then simply ends at the next quote, found natively.
 */
let plainText = false;
const SPECIAL = /[\\\u0000-\u001f\ud800-\udfff\ufffd]/;
/** Set when a string holds an escaped (lone) surrogate: allowed in `data`, not in the other members. */
let sawLoneSurrogate = false;
/** Set when a string holds U+FFFD: the caller may need to check the stored bytes were valid UTF-8. */
let sawReplacement = false;

function fail(reason: string, at: number): number {
  problem ??= `${reason} at character ${at}`;
  return -1;
}

const isHexLower = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 97 && c <= 102);

/** A string token in canonical form (JSON.stringify's escapes, nothing else escaped). */
function scanString(s: string, p: number): number {
  if (s.charCodeAt(p) !== QUOTE) return fail('expected a string', p);
  if (plainText) {
    const end = s.indexOf('"', p + 1);
    return end < 0 ? fail('unterminated string', p) : end + 1;
  }
  p++;
  for (;;) {
    const c = s.charCodeAt(p);
    if (c === QUOTE) return p + 1;
    if (c === BACKSLASH) {
      p = scanEscape(s, p);
      if (p < 0) return -1;
    } else if (c >= 0x20 && c < 0xd800) p++;
    else if (c >= 0xe000) {
      if (c === 0xfffd) sawReplacement = true;
      p++;
    } else if (c >= 0xd800 && c <= 0xdbff) {
      // Raw surrogates only as a well-formed pair; a lone one is written \udxxx.
      const next = s.charCodeAt(p + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return fail('lone surrogate not escaped', p);
      p += 2;
    } else if (c >= 0xdc00 && c <= 0xdfff) return fail('lone surrogate not escaped', p);
    else return fail(Number.isNaN(c) ? 'unterminated string' : 'unescaped control character', p);
  }
}

function hex4(s: string, at: number): number {
  let v = 0;
  for (let i = 0; i < 4; i++) {
    const c = s.charCodeAt(at + i);
    if (!isHexLower(c)) return -1;
    v = v * 16 + (c <= 57 ? c - 48 : c - 87);
  }
  return v;
}

function scanEscape(s: string, p: number): number {
  const e = s.charCodeAt(p + 1);
  // \" \\ \b \f \n \r \t
  if (e === QUOTE || e === BACKSLASH || e === 98 || e === 102 || e === 110 || e === 114 || e === 116) return p + 2;
  if (e !== 117) return fail('escape not in canonical form', p);
  const v = hex4(s, p + 2);
  if (v < 0) return fail('\\u escape without four lower-case hex digits', p);
  if (v < 0x20) {
    if (v === 8 || v === 9 || v === 10 || v === 12 || v === 13) return fail('escape not in canonical form', p);
  } else if (v >= 0xd800 && v <= 0xdbff) {
    // An escaped high surrogate is canonical only when no low surrogate follows (else: a pair, written raw).
    const next = s.charCodeAt(p + 6);
    if (next >= 0xdc00 && next <= 0xdfff) return fail('escaped surrogate pair', p);
    if (next === BACKSLASH && s.charCodeAt(p + 7) === 117) {
      const w = hex4(s, p + 8);
      if (w >= 0xdc00 && w <= 0xdfff) return fail('escaped surrogate pair', p);
    }
  } else if (v < 0xdc00 || v > 0xdfff) return fail('escape not in canonical form', p);
  if (v >= 0xd800) sawLoneSurrogate = true;
  return p + 6;
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** A number token whose text is exactly ECMAScript's Number::toString of its value. */
function scanNumber(s: string, p: number): number {
  const start = p;
  if (s.charCodeAt(p) === 45) p++; // -
  const intStart = p;
  let c = s.charCodeAt(p);
  if (c === 48) p++;
  else if (c >= 49 && c <= 57) while (isDigit(s.charCodeAt(++p)));
  else return fail('expected a value', start);
  const intDigits = p - intStart;
  c = s.charCodeAt(p);
  // Fast path: a non-negative integer below 10^15 (a seq, most durations) is written as its digits.
  if (c !== 46 && c !== 101 && c !== 69 && intDigits <= 15 && start === intStart) return p;
  let fracStart = p;
  if (c === 46) {
    fracStart = p + 1;
    if (!isDigit(s.charCodeAt(++p))) return fail('malformed number', start);
    while (isDigit(s.charCodeAt(++p)));
    c = s.charCodeAt(p);
    // Fast path: a decimal of at most 15 significant digits, no final zero, between 10^-6 and
    // 10^15, is its own shortest round-trip form (15 digits always survive a double).
    if (c !== 101 && c !== 69 && s.charCodeAt(p - 1) !== 48 && decimalIsShortest(s, intStart, intDigits, fracStart, p)) return p;
  }
  c = s.charCodeAt(p);
  if (c === 101 || c === 69) {
    c = s.charCodeAt(++p);
    if (c === 43 || c === 45) c = s.charCodeAt(++p);
    if (!isDigit(c)) return fail('malformed number', start);
    while (isDigit(s.charCodeAt(++p)));
  }
  const text = s.slice(start, p);
  if (String(Number(text)) !== text) return fail(`number ${text} not in canonical form`, start);
  return p;
}

function decimalIsShortest(s: string, intStart: number, intDigits: number, fracStart: number, end: number): boolean {
  if (s.charCodeAt(intStart) !== 48) return intDigits + (end - fracStart) <= 15;
  // 0.xxx: below 10^-6 ECMAScript writes an exponent.
  let zeros = 0;
  while (s.charCodeAt(fracStart + zeros) === 48) zeros++;
  return zeros < 6 && end - fracStart - zeros <= 15;
}

function scanValue(s: string, p: number, depth: number): number {
  const c = s.charCodeAt(p);
  if (c === QUOTE) return scanString(s, p);
  if (c === 123) return scanObject(s, p, depth + 1);
  if (c === 91) return scanArray(s, p, depth + 1);
  if (c === 116 && s.startsWith('true', p)) return p + 4;
  if (c === 102 && s.startsWith('false', p)) return p + 5;
  if (c === 110 && s.startsWith('null', p)) return p + 4;
  return scanNumber(s, p);
}

function scanArray(s: string, p: number, depth: number): number {
  if (depth > MAX_DATA_DEPTH) return fail('nested too deeply', p);
  p++;
  if (s.charCodeAt(p) === 93) return p + 1;
  for (;;) {
    p = scanValue(s, p, depth);
    if (p < 0) return -1;
    const c = s.charCodeAt(p);
    if (c === 93) return p + 1;
    if (c !== 44) return fail('expected , or ]', p);
    p++;
  }
}

/** An object whose member names are in strictly increasing UTF-16 code unit order. */
function scanObject(s: string, p: number, depth: number): number {
  if (depth > MAX_DATA_DEPTH) return fail('nested too deeply', p);
  p++;
  if (s.charCodeAt(p) === 125) return p + 1;
  let previous: string | undefined;
  for (;;) {
    const keyStart = p;
    p = scanString(s, p);
    if (p < 0) return -1;
    let key = s.slice(keyStart + 1, p - 1);
    if (key.includes('\\')) key = JSON.parse(s.slice(keyStart, p));
    if (previous !== undefined && !(previous < key))
      return fail(previous === key ? `duplicate member ${JSON.stringify(key)}` : 'members not in canonical order', keyStart);
    previous = key;
    if (s.charCodeAt(p) !== 58) return fail('expected :', p);
    p = scanValue(s, p + 1, depth);
    if (p < 0) return -1;
    const c = s.charCodeAt(p);
    if (c === 125) return p + 1;
    if (c !== 44) return fail('expected , or }', p);
    p++;
  }
}

function isHash(s: string, at: number): boolean {
  for (let i = at; i < at + 64; i++) if (!isHexLower(s.charCodeAt(i))) return false;
  return true;
}

function scanMemberValue(s: string, p: number, kind: MemberKind): number {
  const start = p;
  switch (kind) {
    case 'v': {
      const c = s.charCodeAt(p + 1);
      if (s.charCodeAt(p) !== 49 || !(c === 44 || c === 125)) return fail('unknown event format (v must be 1)', p);
      return p + 1;
    }
    case 'seq': {
      p = scanNumber(s, p);
      if (p < 0) return -1;
      const n = Number(s.slice(start, p));
      return Number.isSafeInteger(n) && n >= 1 ? p : fail('seq is not a positive integer', start);
    }
    case 'hash':
      p = scanString(s, p);
      if (p < 0) return -1;
      return p - start === 66 && isHash(s, start + 1) ? p : fail('not 64 lower-case hex digits', start);
    case 'number':
      return s.charCodeAt(p) === QUOTE ? fail('expected a number', p) : scanNumber(s, p);
    case 'object':
      return s.charCodeAt(p) === 123 ? scanObject(s, p, 1) : fail('data must be an object', p);
    default:
      sawLoneSurrogate = false;
      p = scanString(s, p);
      if (p < 0) return -1;
      if (sawLoneSurrogate) return fail('lone surrogate outside data (not representable in a CSV export)', start);
      return p - start === 2 ? fail('empty string (an empty member is written by leaving it out)', start) : p;
  }
}

/**
 * Checks an event body: undefined when it is canonical, else the first problem in words.
 * `checkedUpTo` (optional): the caller already checked the body up to this index exactly, from
 * `{"v":1,"seq":` to the closing quote of prevHash (the verify walk does, linking events).
 */
export function bodyProblem(s: string, checkedUpTo = 0): string | undefined {
  problem = undefined;
  sawReplacement = false;
  if (checkedUpTo > 0) {
    PLAIN_TAIL.lastIndex = checkedUpTo;
    if (PLAIN_TAIL.test(s) && plainBodyRest(s)) return undefined;
  } else if (PLAIN_BODY.test(s) && plainBodyRest(s)) return undefined;
  plainText = !SPECIAL.test(s);
  scanBody(s);
  plainText = false;
  return problem;
}

// The usual event, checked by one native regular expression: the members in order, strings
// without anything to escape (so such a string is exactly its canonical form), a number's shape.
// What the expression cannot say (a safe seq, a canonical number, the inside of `data`) is
// checked after it; anything unusual takes the character scanner, which also names the problem.
const PLAIN_STRING = '"[^"\\\\\\u0000-\\u001f\\ud800-\\udfff\\ufffd]+"';
const STRING_MEMBER = (m: string): string => `(?:,"${m}":${PLAIN_STRING})?`;
const PLAIN_MEMBERS =
  BODY_MEMBERS.slice(3, 14).map(STRING_MEMBER).join('') +
  '(?:,"durationMs":-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)?' +
  `${STRING_MEMBER('secretFingerprint')}(?:,"data":\\{.*\\})?\\}$`;
const PLAIN_BODY = new RegExp(`^\\{"v":1,"seq":[1-9][0-9]{0,15},"prevHash":"[0-9a-f]{64}"${PLAIN_MEMBERS}`, 's');
/** The same from after prevHash, for a caller that checked the start (sticky: from lastIndex). */
const PLAIN_TAIL = new RegExp(PLAIN_MEMBERS, 'sy');
const SEQ_AT = '{"v":1,"seq":'.length;

/** After PLAIN_BODY matched: true when the body is canonical; false lets the scanner decide. */
function plainBodyRest(s: string): boolean {
  const seqEnd = s.indexOf(',', SEQ_AT);
  if (seqEnd - SEQ_AT === 16 && !Number.isSafeInteger(Number(s.slice(SEQ_AT, seqEnd)))) return false;
  // `data` is the last member and an object: the body then ends with `}}`. Top-level strings hold
  // no quote, so the first `,"data":{` is that member, and a first `,"durationMs":` before it is
  // too (indexOf: lastIndexOf is a runtime call, not a fast builtin).
  const dataAt = s.charCodeAt(s.length - 2) === 125 ? s.indexOf(',"data":{') : -1;
  const found = s.indexOf(',"durationMs":', SEQ_AT);
  const durationAt = dataAt < 0 || found < dataAt ? found : -1;
  if (durationAt >= 0 && scanNumber(s, durationAt + 14) < 0) return false;
  return dataAt < 0 || scanObject(s, dataAt + 8, 1) === s.length - 1;
}

/**
 * Whether the text last checked by bodyProblem holds U+FFFD: a caller that decoded it from bytes
 * then checks those bytes were valid UTF-8 (decoders put U+FFFD in place of invalid bytes).
 */
export function lastBodyHadReplacement(): boolean {
  return sawReplacement;
}

function codesAt(s: string, p: number, codes: readonly number[]): boolean {
  for (let k = 0; k < codes.length; k++) if (s.charCodeAt(p + k) !== codes[k]) return false;
  return true;
}

/** Why the member at p is not allowed there: a repeated, misplaced or unknown one. */
function misplaced(s: string, p: number, next: number): string {
  if (next === 0) return 'not an event body';
  const name = s.slice(p, s.indexOf(':', p));
  const earlier = BODY_MEMBERS.findIndex((m) => `"${m}"` === name);
  if (earlier === next - 1) return `duplicate member ${name}`;
  if (earlier >= 0) return `member ${name} repeated or out of order`;
  return `unknown member ${name.slice(0, 40)}`;
}

function scanBody(s: string): number {
  if (s.charCodeAt(0) !== 123) return fail('not a JSON object', 0);
  let p = 1;
  let next = 0;
  for (;;) {
    // Candidates from the next allowed member on; the name's length rules most of them out.
    const nameLength = s.indexOf('"', p + 1) - p + 2;
    let i = next;
    while (i < MEMBER_CODES.length && (MEMBER_CODES[i].length !== nameLength || !codesAt(s, p, MEMBER_CODES[i]))) i++;
    if (i === MEMBER_CODES.length) return fail(misplaced(s, p, next), p);
    if (next < 3 && i !== next) return fail(`member ${BODY_MEMBERS[next]} missing`, p);
    p = scanMemberValue(s, p + MEMBER_CODES[i].length, KIND[i]);
    if (p < 0) return -1;
    next = i + 1;
    const c = s.charCodeAt(p);
    if (c === 125) {
      if (p + 1 !== s.length) return fail('text after the end of the event', p + 1);
      return next < 3 ? fail(`member ${BODY_MEMBERS[next]} missing`, p) : p + 1;
    }
    if (c !== 44) return fail('expected , or }', p);
    p++;
  }
}

/** Checks a whole text holding one canonical JSON value (a CSV `data` cell, an export header). */
export function jsonValueProblem(text: string, { object = false }: { object?: boolean } = {}): string | undefined {
  problem = undefined;
  plainText = false;
  if (object && text.charCodeAt(0) !== 123) return 'not a JSON object';
  const end = scanValue(text, 0, 0);
  if (end >= 0 && end !== text.length) fail('text after the end of the value', end);
  return problem;
}

/**
 * A string with every lone surrogate replaced by U+FFFD. Members other than `data` must be
 * well-formed Unicode: a CSV export is UTF-8 text, which cannot carry a lone surrogate.
 */
export function wellFormed(text: string): string {
  // ES2024 string methods (Node 20 has them; the project's TypeScript lib is older).
  const t = text as string & { isWellFormed(): boolean; toWellFormed(): string };
  return t.isWellFormed() ? text : t.toWellFormed();
}
