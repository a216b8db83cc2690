/**
 * The official SDKs (openai 7, @anthropic-ai/sdk 1.x, @google/genai 3)
 * through every surface to every upstream model family.
 */
import { describe } from 'vitest';
import { registerDrivers, useHarness } from './harness.js';
import { anthropicDriver, genaiDriver, openaiChatDriver, openaiResponsesDriver } from './official-sdks.js';

const { recorder, harness } = useHarness(import.meta.filename);

describe('official SDKs', () => {
  registerDrivers(recorder, [openaiChatDriver, openaiResponsesDriver, anthropicDriver, genaiDriver], harness);
});
