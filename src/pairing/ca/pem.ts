// PEM (RFC 7468) in and out. Decoding is strict about the label and the Base64 alphabet, lenient about
// surrounding whitespace and line endings, and never echoes the input back into an error.

const BLOCK_RE = /-----BEGIN ([A-Z0-9 ]{1,40})-----([^-]*)-----END ([A-Z0-9 ]{1,40})-----/;
const B64_BODY_RE = /^[A-Za-z0-9+/]*={0,2}$/;

export class PemError extends Error {
  override readonly name = 'PemError';
}

/** Decodes the first PEM block of `text`, whose label must be one of `labels`. Throws PemError. */
export function pemDecode(text: string, labels: readonly string[], maxBytes = 64 * 1024): Buffer {
  if (typeof text !== 'string' || text.trim() === '') throw new PemError('empty input');
  if (text.length > maxBytes * 2) throw new PemError('input too large');
  const m = BLOCK_RE.exec(text);
  if (!m) throw new PemError('no PEM block found');
  if (m[1] !== m[3]) throw new PemError('PEM BEGIN and END labels differ');
  if (!labels.includes(m[1]))
    throw new PemError(`expected a PEM block labelled ${labels.map((l) => `"${l}"`).join(' or ')}, got "${m[1]}"`);
  const body = m[2].replace(/\s+/g, '');
  if (body.length === 0 || body.length % 4 !== 0 || !B64_BODY_RE.test(body)) throw new PemError('PEM body is not valid Base64');
  const der = Buffer.from(body, 'base64');
  if (der.length > maxBytes) throw new PemError('input too large');
  return der;
}

export function pemEncode(der: Buffer, label: string): string {
  const b64 = der.toString('base64');
  let out = `-----BEGIN ${label}-----\n`;
  for (let i = 0; i < b64.length; i += 64) out += `${b64.slice(i, i + 64)}\n`;
  return `${out}-----END ${label}-----\n`;
}
