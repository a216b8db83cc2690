/**
 * The store's secrets against the encryption key at start: every sealed value
 * (provider keys; providers' sealed headers and options) must open with the
 * current key. Those sealed with HEIMDALL_ENCRYPTION_KEY_PREVIOUS are
 * re-encrypted with the current key (rotation), in one transaction. Any that
 * open with neither stop the start with a clear error, so that an instance
 * never serves with missing keys (in a cluster: a member given the wrong key);
 * HEIMDALL_IGNORE_UNREADABLE_SECRETS=1 starts anyway and leaves them out.
 */
import type { SqliteDatabase } from './database.js';
import { ENCRYPTION_KEY_ENV, ENCRYPTION_KEY_FILE, loadMasterKey, SecretBox } from './secret-box.js';

export const PREVIOUS_KEY_ENV = 'HEIMDALL_ENCRYPTION_KEY_PREVIOUS';
export const IGNORE_UNREADABLE_ENV = 'HEIMDALL_IGNORE_UNREADABLE_SECRETS';

interface Sealed {
  /** What it is, for the error ("provider key openai#main"). */
  what: string;
  sealed: string;
  /** Writes the value sealed again. */
  write(sealed: string): void;
}

function sealedValues(db: SqliteDatabase): Sealed[] {
  const values: Sealed[] = [];
  const keys = db.prepare('SELECT k.id, k.name, k.secret_encrypted, p.name AS provider FROM provider_keys k JOIN providers p ON p.id = k.provider_id').all() as
    Array<{ id: string; name: string; secret_encrypted: string; provider: string }>;
  const putKey = db.prepare('UPDATE provider_keys SET secret_encrypted = ? WHERE id = ?');
  for (const row of keys) {
    values.push({ what: `provider key "${row.name}" of ${row.provider}`, sealed: row.secret_encrypted, write: (sealed) => putKey.run(sealed, row.id) });
  }
  const providers = db.prepare('SELECT id, name, options FROM providers').all() as Array<{ id: string; name: string; options: string }>;
  const putOptions = db.prepare('UPDATE providers SET options = ? WHERE id = ?');
  for (const row of providers) {
    let options: Record<string, unknown>;
    try {
      options = JSON.parse(row.options) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (typeof options.sealed !== 'string') continue;
    values.push({
      what: `headers and options of provider ${row.name}`,
      sealed: options.sealed,
      write: (sealed) => putOptions.run(JSON.stringify({ ...options, sealed }), row.id),
    });
  }
  return values;
}

const opens = (box: SecretBox, sealed: string): boolean => {
  try {
    box.decrypt(sealed);
    return true;
  } catch {
    return false;
  }
};

export class UnreadableSecretsError extends Error {
  constructor(readonly unreadable: readonly string[], keySource: string) {
    const shown = unreadable.slice(0, 5).join(', ') + (unreadable.length > 5 ? `, and ${unreadable.length - 5} more` : '');
    super(
      `${unreadable.length} stored secret${unreadable.length === 1 ? '' : 's'} cannot be decrypted with the encryption key ` +
      `(from ${keySource === 'file' || keySource === 'generated' ? ENCRYPTION_KEY_FILE + ' in the data dir' : ENCRYPTION_KEY_ENV}): ${shown}. ` +
      `Start with the key that encrypted them (every instance of a cluster needs the same ${ENCRYPTION_KEY_ENV}), or, to move to a new key, ` +
      `set ${PREVIOUS_KEY_ENV} to the old one for one start: they are re-encrypted with the new key. ` +
      `${IGNORE_UNREADABLE_ENV}=1 starts without them (set them again through the management API).`,
    );
    this.name = 'UnreadableSecretsError';
  }
}

export interface KeyCheck {
  /** Values re-encrypted from the previous key. */
  rotated: number;
  /** Values no key opens (left out: only with HEIMDALL_IGNORE_UNREADABLE_SECRETS=1). */
  unreadable: string[];
}

/** Checks (and rotates) every sealed value; throws UnreadableSecretsError unless told to ignore them. */
export function checkStoredSecrets(db: SqliteDatabase, box: SecretBox, keySource: string, env: NodeJS.ProcessEnv = process.env): KeyCheck {
  const values = sealedValues(db).filter((value) => !opens(box, value.sealed));
  if (values.length === 0) return { rotated: 0, unreadable: [] };
  const previousText = env[PREVIOUS_KEY_ENV];
  const previous = previousText !== undefined && previousText.trim() !== ''
    ? new SecretBox(loadMasterKey({ env: { [ENCRYPTION_KEY_ENV]: previousText } }).key)
    : undefined;
  const rotatable = previous === undefined ? [] : values.filter((value) => opens(previous, value.sealed));
  const unreadable = values.filter((value) => !rotatable.includes(value)).map((value) => value.what);
  if (unreadable.length > 0 && env[IGNORE_UNREADABLE_ENV] !== '1') throw new UnreadableSecretsError(unreadable, keySource);
  if (rotatable.length > 0) {
    db.transaction(() => {
      for (const value of rotatable) value.write(box.encrypt(previous!.decrypt(value.sealed)));
    })();
  }
  return { rotated: rotatable.length, unreadable };
}
