// What the station answers, said as a sentence a person can act on. Schema messages from the API
// ("body/workOrder must NOT have fewer than 1 characters", "Invalid settings: /realm must match
// pattern …") become "Enter a work order number."; anything else keeps its message and hint.

interface FieldWords {
  /** "a work order number": what the person enters. */
  what: string;
  /** What a valid value looks like, when a pattern or a range refuses it. */
  rule?: string;
}

/** By the last named segment of the schema path (array indices skipped). */
const FIELDS: Record<string, FieldWords> = {
  workOrder: { what: 'a work order number' },
  text: { what: 'a scan' },
  name: { what: 'your name' },
  badge: { what: 'a badge' },
  pin: { what: 'the admin PIN' },
  realm: {
    what: 'a realm name',
    rule: 'A realm name starts with a lower-case letter, then up to 47 lower-case letters or digits (for example factory1).',
  },
  namespace: {
    what: 'a UUIDv5 namespace',
    rule: 'The UUIDv5 namespace is a UUID such as f79ad91f-c638-4889-ae74-9d001a3b4cf8.',
  },
  stationId: { what: 'a station id' },
  id: { what: 'a fixture id', rule: 'Give every fixture an id, for example F1.' },
  devicePort: { what: 'a device port' },
  scannerPort: { what: 'a scanner port' },
  baudRate: { what: 'a baud rate', rule: 'A baud rate is a whole number from 300 to 4000000.' },
  simulatedFixtures: { what: 'a number of simulated fixtures', rule: 'Simulated fixtures: a whole number from 0 to 32.' },
  fixtures: { what: 'fixtures', rule: 'A station has at most 64 fixtures.' },
  url: { what: 'a pairing URL' },
  agentToken: { what: 'an agent token' },
  path: { what: 'a port', rule: 'Choose a port to test.' },
  limit: { what: 'a page size', rule: 'A page holds from 1 to 5000 events.' },
};

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function fieldOf(path: string): { key: string; index?: number } {
  const parts = path.split('/').filter((p) => p && !['body', 'querystring', 'params', 'patch', 'pairing'].includes(p));
  const named = parts.filter((p) => !/^\d+$/.test(p));
  const index = parts.find((p) => /^\d+$/.test(p));
  return { key: named.at(-1) ?? '', index: index === undefined ? undefined : Number(index) };
}

/** One schema message ("<path> must …") as a sentence, or undefined if it is not one. */
export function schemaSentence(message: string): string | undefined {
  const m = /^(?:Invalid [\w -]+: )?(\S*) must (.+)$/i.exec(message.trim());
  if (!m) return undefined;
  const [, path, rule] = m;
  const required = /^have required propert(?:y|ies) '?(\w+)'?/i.exec(rule);
  const { key, index } = fieldOf(required ? `${path}/${required[1]}` : path);
  const words = FIELDS[key] ?? { what: key ? `the ${key} field` : 'this' };
  const where = index !== undefined && key === 'id' ? ` (fixture ${index + 1})` : '';
  const fewer = /^not have fewer than (\d+) (?:characters|items)/i.exec(rule);
  const more = /^not have more than (\d+) (characters|items)/i.exec(rule);
  if (required || (fewer && fewer[1] === '1')) return `Enter ${words.what}${where}.`;
  if (fewer) return `${capital(words.what)} needs at least ${fewer[1]} characters.`;
  if (more) return words.rule && more[2] === 'items' ? words.rule : `${capital(words.what)} has at most ${more[1]} ${more[2]}.`;
  if (/^(match pattern|be (<|>|integer|number|equal)|match a schema)/i.test(rule)) {
    return words.rule ? `${words.rule}${where ? ` ${where.trim()}` : ''}` : `${capital(words.what)} is not valid${where}.`;
  }
  if (/^not have additional properties/i.test(rule)) {
    return 'The station did not expect part of this request: reload the page (the UI may be older than the station).';
  }
  return undefined;
}

/** A sentence for a person from anything an API call threw. */
export function errorSentence(e: unknown): string {
  const err = e as { message?: string; hint?: string; code?: string; name?: string };
  const message = err?.message ?? String(e);
  if (err?.code === 'VALIDATION' || /\bmust (not |have |match |be )/i.test(message)) {
    const sentence = schemaSentence(message);
    if (sentence) return sentence;
  }
  // fetch() in a browser: the station process is gone or its port closed.
  if (err?.name === 'TypeError' && /fetch|network|load failed/i.test(message)) {
    return 'The station did not answer: it may have stopped. The page reconnects by itself when it is back.';
  }
  return err?.hint ? `${message.replace(/\.$/, '')}. ${err.hint}` : message;
}
