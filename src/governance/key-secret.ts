/**
 * Virtual key secrets: `hk-` and 43 base64url characters (256 random bits).
 * Only the SHA-256 of a secret is stored: with that much entropy a slow
 * password hash buys nothing, and a hash lookup is one Map get per request.
 */
import { createHash, hash, randomBytes } from 'node:crypto';

export const KEY_PREFIX = 'hk-';

export function generateKeySecret(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** Hex SHA-256 of the secret as sent. */
export function hashKey(secret: string): string {
  // One-shot crypto.hash (Node >= 20.12): no Hash object per request.
  return typeof hash === 'function' ? hash('sha256', secret, 'hex') : createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** A recognisable, non-secret form for lists: "hk-AbCd…wxyz". */
export function displayKey(secret: string): string {
  const head = secret.startsWith(KEY_PREFIX) ? secret.slice(0, KEY_PREFIX.length + 4) : secret.slice(0, 4);
  return `${head}…${secret.slice(-4)}`;
}

/** Short random ids for new rows: `<prefix>_` and 16 base62-ish characters. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, '0')}`;
}
