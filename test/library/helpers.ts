/** A library gateway over the mock providers, in a fresh data dir; `close()` ends all three. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGateway, type HeimdallGateway } from '../../src/index.js';
import { startMockProviders } from '../support/mock-upstream/provider-env.js';
import type { MockUpstream } from '../support/mock-upstream/index.js';

export interface LibraryUnderTest {
  gw: HeimdallGateway;
  mock: MockUpstream;
  close(): Promise<void>;
}

export async function startLibrary(config: Record<string, unknown> = {}, env: Record<string, string> = {}): Promise<LibraryUnderTest> {
  const providers = await startMockProviders();
  const dataDir = mkdtempSync(join(tmpdir(), 'heimdall-library-'));
  const gw = await createGateway({ ...providers.config, ...config }, { env: { ...providers.env, ...env }, dataDir });
  return {
    gw,
    mock: providers.mock,
    async close() {
      await gw.close();
      await providers.mock.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
