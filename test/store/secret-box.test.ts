import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SecretBox, last4, loadMasterKey } from '../../src/store/secret-box.js';
import { Store } from '../../src/store/store.js';
import { makeTempDir } from './helpers.js';

const SECRET = 'sk-proj-Th1sIsAFakeButLongOpenAIKey0123456789abcdef';

describe('SecretBox', () => {
  const box = new SecretBox(crypto.randomBytes(32));

  it('round-trips in the versioned v1:<iv>:<tag>:<ciphertext> format', () => {
    const sealed = box.encrypt(SECRET);
    const parts = sealed.split(':');
    expect(parts).toHaveLength(4);
    expect(parts[0]).toBe('v1');
    expect(Buffer.from(parts[1], 'base64')).toHaveLength(12);
    expect(Buffer.from(parts[2], 'base64')).toHaveLength(16);
    expect(Buffer.from(parts[3], 'base64')).toHaveLength(Buffer.byteLength(SECRET));
    expect(sealed).not.toContain(SECRET);
    expect(box.decrypt(sealed)).toBe(SECRET);
    expect(box.decrypt(box.encrypt('ünïcødé ✓'))).toBe('ünïcødé ✓');
  });

  it('uses a fresh IV each time', () => {
    expect(box.encrypt(SECRET)).not.toBe(box.encrypt(SECRET));
  });

  it('fails with another key', () => {
    const other = new SecretBox(crypto.randomBytes(32));
    expect(() => other.decrypt(box.encrypt(SECRET))).toThrow(/Cannot decrypt a stored secret/);
  });

  it('fails when the ciphertext, tag or IV is altered', () => {
    const [version, iv, tag, data] = box.encrypt(SECRET).split(':');
    const flip = (b64: string) => {
      const bytes = Buffer.from(b64, 'base64');
      bytes[0] ^= 1;
      return bytes.toString('base64');
    };
    expect(() => box.decrypt([version, iv, tag, flip(data)].join(':'))).toThrow(/Cannot decrypt/);
    expect(() => box.decrypt([version, iv, flip(tag), data].join(':'))).toThrow(/Cannot decrypt/);
    expect(() => box.decrypt([version, flip(iv), tag, data].join(':'))).toThrow(/Cannot decrypt/);
    expect(() => box.decrypt(['v2', iv, tag, data].join(':'))).toThrow(/Unsupported encrypted value format/);
    expect(() => box.decrypt('plaintext')).toThrow(/Unsupported encrypted value format/);
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => new SecretBox(Buffer.alloc(16))).toThrow('A secret-box key is 32 bytes, got 16.');
  });

  it('last4 shows the last 4 characters of secrets of 8 or more', () => {
    expect(last4(SECRET)).toBe('cdef');
    expect(last4('12345678')).toBe('5678');
    expect(last4('1234567')).toBe('');
  });
});

describe('loadMasterKey', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    temp = makeTempDir();
  });
  afterEach(() => temp.cleanup());

  it('takes 64 hex characters from HEIMDALL_ENCRYPTION_KEY', () => {
    const raw = crypto.randomBytes(32);
    const key = loadMasterKey({ dataDir: temp.dir, env: { HEIMDALL_ENCRYPTION_KEY: raw.toString('hex') } });
    expect(key.source).toBe('env');
    expect(key.key.equals(raw)).toBe(true);
    expect(fs.existsSync(path.join(temp.dir, 'encryption.key'))).toBe(false);
  });

  it('takes base64 of 32 bytes from HEIMDALL_ENCRYPTION_KEY', () => {
    const raw = crypto.randomBytes(32);
    const key = loadMasterKey({ env: { HEIMDALL_ENCRYPTION_KEY: raw.toString('base64') } });
    expect(key.source).toBe('env');
    expect(key.key.equals(raw)).toBe(true);
  });

  it('stretches any other string with scrypt, with the documented fixed salt and cost (so restarts agree)', () => {
    const a = loadMasterKey({ env: { HEIMDALL_ENCRYPTION_KEY: 'correct horse battery staple' } });
    expect(a.source).toBe('env-passphrase');
    expect(a.key).toHaveLength(32);
    expect(a.key.equals(crypto.scryptSync('correct horse battery staple', 'heimdall-encryption-key/v1', 32, {
      N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024,
    }))).toBe(true);
  });

  it('generates encryption.key once with mode 0600 and reuses it', () => {
    const first = loadMasterKey({ dataDir: temp.dir, env: {} });
    const file = path.join(temp.dir, 'encryption.key');
    expect(first.source).toBe('generated');
    expect(first.file).toBe(file);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64').equals(first.key)).toBe(true);
    const second = loadMasterKey({ dataDir: temp.dir, env: {} });
    expect(second.source).toBe('file');
    expect(second.key.equals(first.key)).toBe(true);
  });

  it('refuses a key file that does not hold 32 bytes', () => {
    fs.writeFileSync(path.join(temp.dir, 'encryption.key'), 'c2hvcnQ=\n', { mode: 0o600 });
    expect(() => loadMasterKey({ dataDir: temp.dir, env: {} })).toThrow(/does not hold base64 of 32 bytes/);
  });

  it('gives in-memory stores an ephemeral key', () => {
    const a = loadMasterKey({ env: {} });
    const b = loadMasterKey({ env: {} });
    expect(a.source).toBe('ephemeral');
    expect(a.key.equals(b.key)).toBe(false);
  });
});

describe('encryption at rest', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => {
    temp = makeTempDir();
  });
  afterEach(() => temp.cleanup());

  function rawFiles(dir: string): Buffer {
    return Buffer.concat(
      fs.readdirSync(dir).filter((name) => name.startsWith('heimdall.db')).map((name) => fs.readFileSync(path.join(dir, name))),
    );
  }

  it('stores no plaintext provider key in the database files, and decrypts it after a restart', () => {
    const store = Store.open({ dataDir: temp.dir, env: {}, retention: false });
    store.config.createProvider({ id: 'openai', name: 'openai', type: 'openai' });
    const key = store.config.createProviderKey({ id: 'k1', provider_id: 'openai', name: 'main', secret: SECRET });
    expect(key).toEqual(expect.objectContaining({ last4: 'cdef' }));
    expect(key.secret).toBeUndefined();
    // while open: the main file and the WAL
    let bytes = rawFiles(temp.dir);
    expect(bytes.length).toBeGreaterThan(0);
    expect(bytes.includes(SECRET)).toBe(false);
    expect(bytes.includes(SECRET.slice(0, 20))).toBe(false);
    store.close();
    bytes = rawFiles(temp.dir);
    expect(bytes.includes(SECRET)).toBe(false);
    expect(bytes.includes('cdef')).toBe(true); // last4 is stored in clear, as intended

    const reopened = Store.open({ dataDir: temp.dir, env: {}, retention: false });
    try {
      expect(reopened.encryptionKeySource).toBe('file');
      expect(reopened.config.getProviderKey('k1', { withSecret: true })?.secret).toBe(SECRET);
    } finally {
      reopened.close();
    }
  });

  it('cannot read the keys with another encryption key', () => {
    const store = Store.open({ dataDir: temp.dir, env: {}, retention: false });
    store.config.createProvider({ id: 'openai', name: 'openai', type: 'openai' });
    store.config.createProviderKey({ id: 'k1', provider_id: 'openai', name: 'main', secret: SECRET });
    store.close();
    const errors: unknown[][] = [];
    const logger = { info() {}, warn() {}, error: (...args: unknown[]) => errors.push(args) };
    const otherKey = crypto.randomBytes(32).toString('hex');
    // Refused at open, naming the secret, with the way out.
    expect(() => Store.open({ dataDir: temp.dir, env: { HEIMDALL_ENCRYPTION_KEY: otherKey }, retention: false, logger }))
      .toThrow(/^1 stored secret cannot be decrypted with the encryption key \(from HEIMDALL_ENCRYPTION_KEY\): provider key "main" of openai\./);
    // Told to go on without it: opens, and says so.
    const other = Store.open({
      dataDir: temp.dir, env: { HEIMDALL_ENCRYPTION_KEY: otherKey, HEIMDALL_IGNORE_UNREADABLE_SECRETS: '1' }, retention: false, logger,
    });
    try {
      expect(errors).toEqual([[
        { provider_key: 'k1', key_source: 'env' },
        expect.stringContaining('stored provider keys cannot be decrypted with the current encryption key'),
      ]]);
      expect(other.config.getProviderKey('k1')?.last4).toBe('cdef');
      expect(() => other.config.getProviderKey('k1', { withSecret: true })).toThrow(/Provider key k1: Cannot decrypt/);
    } finally {
      other.close();
    }
  });
});
