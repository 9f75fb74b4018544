// Every device rule of docs/device-protocol.md v1.1, by the id the document gives it. The kit
// prints one line per entry, in this order. `writes`: only with --destructive. `manual`: cannot be
// checked over the serial line. A test keeps this table and the document's [ids] the same set.

export const KIT_RULES = {
  'H-REPLY': { section: '4 HELLO', rule: 'HELLO v=1 gets OK v=1 with model, fw, caps (write, lock, config) and max 128..512' },
  'H-NO-V': { section: '4 HELLO', rule: 'a HELLO without v= offers version 1' },
  'H-CHOOSE': { section: '4 HELLO', rule: 'the device chooses the highest version it shares with the station' },
  'H-UNSUPPORTED': { section: '4 HELLO', rule: 'no common version gets ERR code=UNSUPPORTED_VERSION' },
  'H-BAD-V': { section: '4 HELLO', rule: 'a v= that is not a list of decimal integers gets BAD_ARGUMENT' },
  'I-REPLY': {
    section: '4 IDENTITY',
    rule: 'IDENTITY gets serial= (and mac=, gtin=, device_id= in their formats), the same each time',
  },
  'S-REPLY': {
    section: '4 STATUS',
    rule: 'STATUS gets state=empty|written|locked|torn, with a digest exactly when written or locked',
  },
  'K-UNKNOWN': { section: '4', rule: 'an unknown command gets ERR code=UNKNOWN_COMMAND' },
  'F-UNKNOWN-KEY': { section: '2', rule: 'unknown keys in a request are ignored' },
  'F-PERCENT': { section: '2', rule: '%XX escapes are decoded, in either case' },
  'F-VALUES': { section: '2', rule: 'a bad escape, a raw non-ASCII byte, non-UTF-8 or NUL in a value gets BAD_FRAME' },
  'F-CRLF': { section: '1', rule: 'a request ending in CR LF is read like one ending in LF' },
  'F-NOISE': { section: '2', rule: 'lines that do not start with > (console text, < lines, empty lines) get no reply' },
  'F-CRC': {
    section: '2',
    rule: 'a request with a wrong CRC gets ERR code=BAD_CRC with its sequence number and is not executed',
  },
  'F-MALFORMED': { section: '2', rule: 'a malformed request with a readable sequence number gets ERR code=BAD_FRAME' },
  'F-UNREADABLE': { section: '2', rule: 'a request with an unreadable sequence number (lower case, 0000, short) gets no reply' },
  'F-MAX': { section: '2', rule: 'a request of exactly max bytes (CR and LF included) is executed' },
  'F-TOO-LONG': { section: '2', rule: 'a line longer than max gets no reply and is not executed' },
  'C-RETRANSMIT': { section: '3', rule: 'a retransmission (same sequence number, same line) gets the same reply, byte for byte' },
  'C-NEW-LINE': { section: '3', rule: 'a known sequence number with a different line is a new request' },
  'C-ERRORS': {
    section: '2',
    rule: 'BAD_CRC/BAD_FRAME replies are not cached and leave the cached reply of a good request alone',
  },
  'W-ARGS': {
    section: '4 WRITE',
    rule: 'WRITE without a canonical 44-character Base64 secret gets BAD_ARGUMENT and writes nothing',
    writes: true,
  },
  'L-EMPTY': { section: '4 LOCK', rule: 'LOCK on empty storage gets NOT_ALLOWED and storage stays empty', writes: true },
  'B-RETRANSMIT': {
    section: '3',
    rule: 'retransmissions that arrive while WRITE is busy get the same reply, byte for byte',
    writes: true,
  },
  'W-STORE': {
    section: '4 WRITE',
    rule: 'WRITE on empty storage answers OK digest=…, and STATUS then says written with that digest',
    writes: true,
  },
  'W-DIGEST': {
    section: '4 WRITE',
    rule: 'the digest is SHA-256 over the 44 ASCII characters of the secret, lowercase hex',
    writes: true,
  },
  'C-REPLAY': {
    section: '3',
    rule: 'a retransmission among the last 16 requests is answered from the cache, not executed again',
    writes: true,
  },
  'W-SAME': { section: '4 WRITE', rule: 'WRITE of the secret already stored answers OK with the same digest', writes: true },
  'W-ONCE': {
    section: '4 WRITE',
    rule: 'WRITE of a different secret gets ALREADY_WRITTEN and storage is unchanged',
    writes: true,
  },
  'G-ARGS': {
    section: '4 CONFIG',
    rule: 'CONFIG with a missing key or a value out of its limits gets BAD_ARGUMENT and changes nothing',
    writes: true,
  },
  'G-CONFIG': {
    section: '4 CONFIG',
    rule: 'a whole CONFIG (values up to their limits) gets OK, and IDENTITY reports its device_id',
    writes: true,
  },
  'G-PARTS': {
    section: '4 CONFIG',
    rule: 'CONFIG parts (more=1) are staged until the last part; HELLO discards them',
    writes: true,
  },
  'L-LOCK': {
    section: '4 LOCK',
    rule: 'LOCK on written storage answers OK state=locked digest=…, and again when locked',
    writes: true,
  },
  'C-HELLO': { section: '3', rule: 'HELLO clears the reply cache', writes: true },
  'L-WRITE': { section: '4 WRITE', rule: 'locked storage answers WRITE of its own secret OK, of another LOCKED', writes: true },
  'R-RESET': {
    section: '4 RESET',
    rule: 'RESET empties storage and config where reset is announced; elsewhere NOT_ALLOWED, nothing changes',
    writes: true,
  },
  'F-REPLY': {
    section: '2',
    rule: 'every line starting with < is a well-formed reply: known sequence number, OK/ERR, listed code, valid CRC, ≤ 512 bytes',
  },
  'W-NO-ECHO': { section: '4 WRITE', rule: 'the secret never appears in anything the device sends' },
  'T-QUICK': { section: '3', rule: 'HELLO, IDENTITY, STATUS, unknown commands and BAD_CRC/BAD_FRAME are answered within 250 ms' },
  'T-STORAGE': { section: '3', rule: 'WRITE, LOCK, CONFIG and RESET are answered within 2000 ms' },
  'M-DURABLE': {
    section: '4 WRITE',
    rule: 'WRITE, LOCK and CONFIG answer OK only once durable (cut power right after the reply)',
    manual: true,
  },
  'M-TORN': {
    section: '4 STATUS',
    rule: 'a write cut by power loss reads back torn; torn storage refuses WRITE and LOCK with TORN',
    manual: true,
  },
  'M-FAULT': { section: '5', rule: 'an internal failure (storage read or program error) answers DEVICE_FAULT', manual: true },
  'M-SECRET': {
    section: '8',
    rule: 'the stored secret is readable by the firmware only, never over this protocol or a debug port',
    manual: true,
  },
} as const satisfies Record<string, { section: string; rule: string; writes?: true; manual?: true }>;

export type RuleId = keyof typeof KIT_RULES;

export const RULE_IDS = Object.keys(KIT_RULES) as RuleId[];

export function ruleWrites(id: RuleId): boolean {
  return 'writes' in KIT_RULES[id];
}

export function ruleIsManual(id: RuleId): boolean {
  return 'manual' in KIT_RULES[id];
}
