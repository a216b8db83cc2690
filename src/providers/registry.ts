/** Every provider definition Heimdall knows, by id. */
import { azureProvider } from './azure.js';
import { openAICompatibleProviders } from './openai-compatible.js';
import type { ProviderDefinition } from './types.js';

const DEFINITIONS: readonly ProviderDefinition[] = [...openAICompatibleProviders, azureProvider];

const BY_ID = new Map(DEFINITIONS.map((d) => [d.id, d]));

export function providerDefinitions(): readonly ProviderDefinition[] {
  return DEFINITIONS;
}

export function getProviderDefinition(id: string): ProviderDefinition | undefined {
  return BY_ID.get(id);
}
