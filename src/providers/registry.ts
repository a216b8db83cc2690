/** Every provider definition Heimdall knows, by id. */
import { anthropicProvider } from './anthropic.js';
import { azureProvider } from './azure.js';
import { bedrockProvider } from './bedrock.js';
import { cohereProvider } from './cohere.js';
import { geminiProvider } from './gemini.js';
import { vertexAnthropicProvider, vertexProvider } from './vertex.js';
import { openAICompatibleProviders } from './openai-compatible.js';
import type { ProviderDefinition } from './types.js';

const DEFINITIONS: readonly ProviderDefinition[] = [
  ...openAICompatibleProviders,
  azureProvider,
  anthropicProvider,
  // Gemini before Vertex: both list gemini-* models and a bare name goes to the first.
  geminiProvider,
  vertexProvider,
  vertexAnthropicProvider,
  bedrockProvider,
  cohereProvider,
];

const BY_ID = new Map(DEFINITIONS.map((d) => [d.id, d]));

export function providerDefinitions(): readonly ProviderDefinition[] {
  return DEFINITIONS;
}

export function getProviderDefinition(id: string): ProviderDefinition | undefined {
  return BY_ID.get(id);
}
