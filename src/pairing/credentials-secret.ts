// Credentials secrets: 32 random bytes as standard Base64 with padding (44 characters), as Astarte.
import { pooledRandomBytes } from '../common/random-pool.ts';

export const CREDENTIALS_SECRET_BYTES = 32;

const SECRET_SHAPE = /^[A-Za-z0-9+/]{43}=$/;

export function generateCredentialsSecret(): string {
  return pooledRandomBytes(CREDENTIALS_SECRET_BYTES).toString('base64');
}

/** True for a string shaped like a secret this core generates (other cores may use other shapes). */
export function isWellFormedCredentialsSecret(secret: string): boolean {
  return typeof secret === 'string' && SECRET_SHAPE.test(secret);
}
