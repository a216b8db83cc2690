/**
 * The config-file watcher alone: debounced, follows a file replaced by a
 * rename, ignores other files of the directory and saves that change nothing,
 * says once when the file is gone, stops on close.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigFileWatcher } from '../../src/config/watch.js';
import { makeTempDir } from './helpers.js';

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ConfigFileWatcher', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let watcher: ConfigFileWatcher;
  let texts: string[];
  let warnings: string[];
  let file: string;

  beforeEach(async () => {
    temp = makeTempDir();
    file = join(temp.dir, 'config.json');
    writeFileSync(file, '{"a":1}');
    texts = [];
    warnings = [];
    watcher = new ConfigFileWatcher({
      path: file,
      debounceMs: 40,
      onText: (text) => texts.push(text),
      logger: { info() {}, error() {}, warn: (_obj, msg) => warnings.push(msg) },
    });
    await watcher.start();
  });
  afterEach(() => {
    watcher.close();
    temp.cleanup();
  });

  it('a burst of writes gives one callback with the last text', async () => {
    writeFileSync(file, '{"a":2}');
    writeFileSync(file, '{"a":3}');
    writeFileSync(file, '{"a":4}');
    await until(() => texts.length > 0);
    await sleep(150);
    expect(texts).toEqual(['{"a":4}']);
  });

  it('follows a file replaced by a rename, and keeps following it', async () => {
    writeFileSync(join(temp.dir, 'tmp1'), '{"b":1}');
    renameSync(join(temp.dir, 'tmp1'), file);
    await until(() => texts.length === 1);
    writeFileSync(join(temp.dir, 'tmp2'), '{"b":2}');
    renameSync(join(temp.dir, 'tmp2'), file);
    await until(() => texts.length === 2);
    expect(texts).toEqual(['{"b":1}', '{"b":2}']);
  });

  it('ignores other files and saves that change nothing', async () => {
    writeFileSync(join(temp.dir, 'heimdall.db'), 'x');
    writeFileSync(file, '{"a":1}');
    await sleep(200);
    expect(texts).toEqual([]);
  });

  it('a deleted file is reported once; the next good file applies', async () => {
    rmSync(file);
    await until(() => warnings.length > 0);
    await sleep(100);
    expect(warnings).toEqual(['config file cannot be read; the running configuration stays']);
    writeFileSync(file, '{"c":1}');
    await until(() => texts.length === 1);
    expect(texts).toEqual(['{"c":1}']);
  });

  it('after close, nothing more', async () => {
    watcher.close();
    writeFileSync(file, '{"z":1}');
    await sleep(150);
    expect(texts).toEqual([]);
  });
});
