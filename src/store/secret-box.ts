/**
 * Encryption at rest for provider API keys: AES-256-GCM with a random 96-bit IV
 * per value and the 128-bit auth tag stored beside it.
 *
 * Stored format (versioned so the scheme can change): `v1:<iv>:<tag>:<ciphertext>`,
 * each part standard base64.
 *
 * The master key comes from, in order:
 *  1. HEIMDALL_ENCRYPTION_KEY:
 *     - 64 hex characters  -> those 32 bytes;
 *     - base64 of 32 bytes -> those 32 bytes (`openssl rand -base64 32`);
 *     - anything else      -> a passphrase, stretched with scrypt (N=2^15, r=8, p=1)
 *       and a fixed salt, so the same passphrase always gives the same key. Prefer a
 *       random 32-byte key: a passphrase is only as strong as its entropy.
 *  2. `<dataDir>/encryption.key` (base64 of 32 bytes), created once with mode 0600
 *     on first start and reused afterwards. Back it up with the database: without
 *     it the stored provider keys cannot be decrypted.
 *  3. In-memory stores without the variable get a random key for their lifetime.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const ENCRYPTION_KEY_ENV = 'HEIMDALL_ENCRYPTION_KEY';
export const ENCRYPTION_KEY_FILE = 'encryption.key';

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT_VERSION = 'v1';
const SCRYPT_SALT = 'heimdall-encryption-key/v1';
const SCRYPT_OPTIONS = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

export type MasterKeySource = 'env' | 'env-passphrase' | 'file' | 'generated' | 'ephemeral';

export interface MasterKey {
  key: Buffer;
  source: MasterKeySource;
  /** The key file, when the key lives in one. */
  file?: string;
}

export interface LoadMasterKeyOptions {
  /** Where encryption.key lives; omitted for in-memory stores. */
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
}

/** Resolves the master key as described at the top of this file. */
export function loadMasterKey(options: LoadMasterKeyOptions = {}): MasterKey {
  const fromEnv = (options.env ?? process.env)[ENCRYPTION_KEY_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return parseKeyString(fromEnv.trim());
  if (options.dataDir === undefined) return { key: crypto.randomBytes(KEY_BYTES), source: 'ephemeral' };
  return loadOrCreateKeyFile(path.join(options.dataDir, ENCRYPTION_KEY_FILE));
}

function parseKeyString(value: string): MasterKey {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return { key: Buffer.from(value, 'hex'), source: 'env' };
  if (/^[A-Za-z0-9+/]{43}=?$/.test(value)) {
    const key = Buffer.from(value, 'base64');
    if (key.length === KEY_BYTES) return { key, source: 'env' };
  }
  const key = crypto.scryptSync(value, SCRYPT_SALT, KEY_BYTES, SCRYPT_OPTIONS);
  return { key, source: 'env-passphrase' };
}

function loadOrCreateKeyFile(file: string): MasterKey {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const fresh = crypto.randomBytes(KEY_BYTES);
  try {
    // 'wx' fails if the file exists, so two processes starting at once cannot
    // both write a key: the loser reads the winner's.
    fs.writeFileSync(file, `${fresh.toString('base64')}\n`, { flag: 'wx', mode: 0o600 });
    return { key: fresh, source: 'generated', file };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const text = fs.readFileSync(file, 'utf8').trim();
  const key = Buffer.from(text, 'base64');
  if (key.length !== KEY_BYTES || !/^[A-Za-z0-9+/]+=*$/.test(text)) {
    throw new Error(`The encryption key file ${file} does not hold base64 of ${KEY_BYTES} bytes.`);
  }
  return { key, source: 'file', file };
}

/** Encrypts and decrypts short secrets with one master key. */
export class SecretBox {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) throw new Error(`A secret-box key is ${KEY_BYTES} bytes, got ${key.length}.`);
    this.#key = Buffer.from(key);
  }

  /**
   * A box with a key of its own, derived from this one for one purpose (HKDF-SHA256, `label` as
   * info): what it seals cannot be opened with the master key, nor the other way round.
   */
  derive(label: string): SecretBox {
    return new SecretBox(Buffer.from(crypto.hkdfSync('sha256', this.#key, Buffer.alloc(0), label, KEY_BYTES)));
  }

  encrypt(plaintext: string): string {
    const iv = crypto.randomBytes(IV_BYTES);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.#key, iv);
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [FORMAT_VERSION, iv.toString('base64'), tag.toString('base64'), ciphertext.toString('base64')].join(':');
  }

  /** Throws when the value was encrypted with another key or altered. */
  decrypt(sealed: string): string {
    const parts = sealed.split(':');
    if (parts.length !== 4 || parts[0] !== FORMAT_VERSION) {
      throw new Error(`Unsupported encrypted value format (expected ${FORMAT_VERSION}:<iv>:<tag>:<ciphertext>).`);
    }
    const iv = Buffer.from(parts[1], 'base64');
    const tag = Buffer.from(parts[2], 'base64');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new Error('Malformed encrypted value.');
    try {
      const decipher = crypto.createDecipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(parts[3], 'base64')), decipher.final()]).toString('utf8');
    } catch (error) {
      throw new Error(
        `Cannot decrypt a stored secret: it was encrypted with another key (check ${ENCRYPTION_KEY_ENV} ` +
          `and ${ENCRYPTION_KEY_FILE}) or it was altered.`,
        { cause: error },
      );
    }
  }
}

/**
 * The last 4 characters, for display. Secrets shorter than 8 characters show
 * nothing, since 4 characters would be half of them.
 */
export function last4(secret: string): string {
  return secret.length >= 8 ? secret.slice(-4) : '';
}
