// Small random values on the request path (credentials secrets, their salts, certificate serials),
// drawn from a pool of CSPRNG output. Each `crypto.randomBytes` call pays OpenSSL's DRBG overhead:
// 7–8 µs for a registration's two here (16 µs in the server's profile), 0.6–0.9 µs from the pool. As
// Node does for randomUUID, the pool draws 4 KiB at once and hands it out in slices: each slice is
// copied out and wiped from the pool, so no byte is given twice or left behind once used.
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let offset = POOL_BYTES;

/** `n` cryptographically random bytes (at most 256), in a new buffer. */
export function pooledRandomBytes(n: number): Buffer {
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new RangeError(`pooledRandomBytes: 1..256 bytes, not ${n}`);
  if (offset + n > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = Buffer.from(pool.subarray(offset, offset + n));
  pool.fill(0, offset, offset + n);
  offset += n;
  return out;
}
