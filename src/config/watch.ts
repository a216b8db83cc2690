/**
 * Watches the config file and hands its new text over after a quiet period.
 *
 * The directory is watched, not the file: editors and tools replace a file
 * (write a temp file, rename it over the old one; Kubernetes swaps a `..data`
 * symlink), which ends a watch on the old inode. Events are debounced, and
 * the text is compared with the last one seen, so a save that changes nothing,
 * or a burst of events for one save, triggers nothing.
 */
import { createHash } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { StoreLogger } from '../store/store-logger.js';

export interface ConfigWatchOptions {
  path: string;
  /** Receives the new text; its own errors are its business (it logs and keeps the old config). */
  onText(text: string): void;
  logger: StoreLogger;
  /** Quiet period after the last event. Default 150 ms. */
  debounceMs?: number;
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export class ConfigFileWatcher {
  readonly #path: string;
  readonly #name: string;
  readonly #options: ConfigWatchOptions;
  readonly #debounceMs: number;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastDigest: string | undefined;
  #missing = false;
  #closed = false;
  /** Resolves when the check in progress (if any) is done; tests wait on it. */
  #checking: Promise<void> = Promise.resolve();

  constructor(options: ConfigWatchOptions) {
    this.#options = options;
    this.#path = resolve(options.path);
    this.#name = basename(this.#path);
    this.#debounceMs = Math.max(0, options.debounceMs ?? 150);
  }

  /** Starts watching; the text on disk now is the baseline (already loaded at start). */
  async start(): Promise<void> {
    try {
      this.#lastDigest = digest(await readFile(this.#path, 'utf8'));
    } catch {
      this.#lastDigest = undefined;
    }
    if (this.#closed) return;
    try {
      this.#watcher = watch(dirname(this.#path), { persistent: false }, (_event, filename) => {
        const name = filename?.toString();
        // Another file in the same directory (the database, when it lives beside the config) is not ours.
        if (name === undefined || name === this.#name || name.startsWith('..')) this.#schedule();
      });
      this.#watcher.on('error', (error) => {
        this.#options.logger.warn({ path: this.#path, err: error }, 'config file watch stopped; restart Heimdall to apply file changes');
        this.#watcher?.close();
        this.#watcher = undefined;
      });
    } catch (error) {
      this.#options.logger.warn({ path: this.#path, err: error }, 'cannot watch the config file; changes to it apply at the next start');
    }
  }

  /** Checks the file now (tests, or a SIGHUP handler). */
  check(): Promise<void> {
    this.#checking = this.#checking.then(() => this.#check());
    return this.#checking;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#watcher?.close();
    this.#watcher = undefined;
  }

  #schedule(): void {
    if (this.#closed) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.check();
    }, this.#debounceMs);
    this.#timer.unref();
  }

  async #check(): Promise<void> {
    if (this.#closed) return;
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (!this.#missing) {
        this.#missing = true;
        // Mid-replace, the file may be briefly absent: the rename that follows brings it back.
        this.#options.logger.warn({ path: this.#path, code }, 'config file cannot be read; the running configuration stays');
      }
      return;
    }
    this.#missing = false;
    if (this.#closed) return;
    const hash = digest(text);
    if (hash === this.#lastDigest) return;
    this.#lastDigest = hash;
    this.#options.onText(text);
  }
}
