import { createHash } from 'node:crypto';

/**
 * A short, domain-separated fingerprint of a credentials secret for audit events and operator
 * screens: enough to tell two secrets apart, useless for authenticating (it is not the stored hash).
 */
export function secretFingerprint(credentialsSecret: string): string {
  return `fp1:${createHash('sha256').update('imprint-secret-fingerprint-v1\0').update(credentialsSecret, 'utf8').digest('hex').slice(0, 16)}`;
}
