/**
 * OpenAI and the OpenAI-compatible family: one table, one endpoint function.
 * Each row names the provider's official SDK environment variables; a
 * `<PROVIDER>_BASE_URL` value has the same meaning as in that SDK, so rows
 * whose SDK takes the host root say which path to append (`baseUrlEnvPath`).
 */
import type { Endpoint, EndpointContext, Operation, ProviderDefinition } from './types.js';

interface CompatibleRow {
  id: string;
  name: string;
  baseUrl: string;
  apiKeyEnv: readonly string[];
  baseUrlEnv?: string;
  /** Appended to a host-root base URL (env, config or dashboard) as the SDK does. */
  baseUrlEnvPath?: string;
  keyRequired?: boolean;
  /** False for a provider without chat (Jina, Voyage: embeddings and rerank). */
  chat?: boolean;
  /** OPENAI_BASE_URL without OPENAI_API_KEY: a keyless local OpenAI-compatible server. */
  keylessWithBaseUrlEnv?: boolean;
  embeddings?: boolean;
  completions?: boolean;
  responses?: boolean;
  /** Image generation (and, with `imageEdits`, edits) at /images/*. */
  images?: boolean;
  imageEdits?: boolean;
  /** Text to speech at /audio/speech; transcriptions and translations at /audio/*. */
  speech?: boolean;
  transcriptions?: boolean;
  translations?: boolean;
  /** Reranking at /rerank (Cohere's request shape, or Voyage's: formats/rerank). */
  rerank?: boolean;
  moderations?: boolean;
  models: readonly string[];
  embeddingModels?: readonly string[];
  docs: string;
}

const PATHS: Record<Operation, string> = {
  chat: '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
  responses: '/responses',
  models: '/models',
  images: '/images/generations',
  image_edits: '/images/edits',
  speech: '/audio/speech',
  transcriptions: '/audio/transcriptions',
  translations: '/audio/translations',
  rerank: '/rerank',
  moderations: '/moderations',
};

function compatibleEndpoint(operation: Operation, context: EndpointContext): Endpoint {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (context.apiKey !== undefined) headers.authorization = `Bearer ${context.apiKey}`;
  return { url: context.baseUrl + PATHS[operation], headers };
}

/** @see each row's `docs` link for the provider's OpenAI-compatible API reference. */
const ROWS: readonly CompatibleRow[] = [
  {
    id: 'openai', name: 'OpenAI', baseUrl: 'https://api.openai.com/v1',
    apiKeyEnv: ['OPENAI_API_KEY'], baseUrlEnv: 'OPENAI_BASE_URL', keylessWithBaseUrlEnv: true,
    embeddings: true, completions: true, responses: true,
    images: true, imageEdits: true, speech: true, transcriptions: true, translations: true, moderations: true,
    models: ['gpt-5', 'gpt-5-mini', 'gpt-5-nano', 'gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano', 'gpt-4o', 'gpt-4o-mini', 'o3', 'o4-mini', 'o3-mini', 'gpt-3.5-turbo-instruct'],
    embeddingModels: ['text-embedding-3-small', 'text-embedding-3-large', 'text-embedding-ada-002'],
    docs: 'https://platform.openai.com/docs/api-reference',
  },
  {
    id: 'groq', name: 'Groq', baseUrl: 'https://api.groq.com/openai/v1',
    apiKeyEnv: ['GROQ_API_KEY'], baseUrlEnv: 'GROQ_BASE_URL', baseUrlEnvPath: '/openai/v1',
    // @see https://console.groq.com/docs/speech-to-text and https://console.groq.com/docs/text-to-speech
    speech: true, transcriptions: true, translations: true,
    models: ['llama-3.3-70b-versatile', 'llama-3.1-8b-instant', 'openai/gpt-oss-120b', 'openai/gpt-oss-20b', 'moonshotai/kimi-k2-instruct', 'qwen/qwen3-32b'],
    docs: 'https://console.groq.com/docs/openai',
  },
  {
    id: 'mistral', name: 'Mistral AI', baseUrl: 'https://api.mistral.ai/v1',
    apiKeyEnv: ['MISTRAL_API_KEY'], baseUrlEnv: 'MISTRAL_BASE_URL', baseUrlEnvPath: '/v1',
    embeddings: true,
    models: ['mistral-large-latest', 'mistral-medium-latest', 'mistral-small-latest', 'codestral-latest', 'ministral-8b-latest', 'magistral-medium-latest'],
    embeddingModels: ['mistral-embed'],
    docs: 'https://docs.mistral.ai/api/',
  },
  {
    id: 'deepseek', name: 'DeepSeek', baseUrl: 'https://api.deepseek.com/v1',
    apiKeyEnv: ['DEEPSEEK_API_KEY'], baseUrlEnv: 'DEEPSEEK_BASE_URL',
    completions: true,
    models: ['deepseek-chat', 'deepseek-reasoner'],
    docs: 'https://api-docs.deepseek.com/',
  },
  {
    id: 'xai', name: 'xAI', baseUrl: 'https://api.x.ai/v1',
    apiKeyEnv: ['XAI_API_KEY'], baseUrlEnv: 'XAI_BASE_URL',
    responses: true,
    // @see https://docs.x.ai/docs/guides/image-generations
    images: true,
    models: ['grok-4', 'grok-4-fast-reasoning', 'grok-4-fast-non-reasoning', 'grok-3', 'grok-3-mini', 'grok-code-fast-1'],
    docs: 'https://docs.x.ai/docs/api-reference',
  },
  {
    id: 'openrouter', name: 'OpenRouter', baseUrl: 'https://openrouter.ai/api/v1',
    apiKeyEnv: ['OPENROUTER_API_KEY'], baseUrlEnv: 'OPENROUTER_BASE_URL',
    embeddings: true, completions: true,
    models: ['openai/gpt-4o-mini', 'anthropic/claude-sonnet-4.5', 'google/gemini-2.5-flash', 'meta-llama/llama-3.3-70b-instruct'],
    // @see https://openrouter.ai/docs/api-reference/embeddings
    embeddingModels: ['openai/text-embedding-3-small'],
    docs: 'https://openrouter.ai/docs/api-reference/overview',
  },
  {
    id: 'together', name: 'Together AI', baseUrl: 'https://api.together.xyz/v1',
    apiKeyEnv: ['TOGETHER_API_KEY'], baseUrlEnv: 'TOGETHER_BASE_URL',
    embeddings: true, completions: true,
    // @see https://docs.together.ai/reference/post-images-generations
    images: true,
    models: ['meta-llama/Llama-3.3-70B-Instruct-Turbo', 'deepseek-ai/DeepSeek-V3', 'Qwen/Qwen2.5-72B-Instruct-Turbo', 'openai/gpt-oss-120b'],
    embeddingModels: ['BAAI/bge-large-en-v1.5', 'togethercomputer/m2-bert-80M-8k-retrieval'],
    docs: 'https://docs.together.ai/reference/chat-completions-1',
  },
  {
    id: 'fireworks', name: 'Fireworks AI', baseUrl: 'https://api.fireworks.ai/inference/v1',
    apiKeyEnv: ['FIREWORKS_API_KEY'], baseUrlEnv: 'FIREWORKS_BASE_URL',
    embeddings: true, completions: true,
    models: ['accounts/fireworks/models/llama-v3p3-70b-instruct', 'accounts/fireworks/models/deepseek-v3', 'accounts/fireworks/models/qwen3-235b-a22b'],
    embeddingModels: ['nomic-ai/nomic-embed-text-v1.5'],
    docs: 'https://docs.fireworks.ai/api-reference/post-chatcompletions',
  },
  {
    id: 'perplexity', name: 'Perplexity', baseUrl: 'https://api.perplexity.ai',
    apiKeyEnv: ['PERPLEXITY_API_KEY', 'PPLX_API_KEY'], baseUrlEnv: 'PERPLEXITY_BASE_URL',
    models: ['sonar', 'sonar-pro', 'sonar-reasoning', 'sonar-reasoning-pro', 'sonar-deep-research'],
    docs: 'https://docs.perplexity.ai/api-reference/chat-completions-post',
  },
  {
    id: 'cerebras', name: 'Cerebras', baseUrl: 'https://api.cerebras.ai/v1',
    apiKeyEnv: ['CEREBRAS_API_KEY'], baseUrlEnv: 'CEREBRAS_BASE_URL', baseUrlEnvPath: '/v1',
    completions: true,
    models: ['llama-3.3-70b', 'llama3.1-8b', 'qwen-3-32b', 'gpt-oss-120b'],
    docs: 'https://inference-docs.cerebras.ai/api-reference/chat-completions',
  },
  {
    id: 'deepinfra', name: 'DeepInfra', baseUrl: 'https://api.deepinfra.com/v1/openai',
    apiKeyEnv: ['DEEPINFRA_API_KEY', 'DEEPINFRA_TOKEN'], baseUrlEnv: 'DEEPINFRA_BASE_URL',
    embeddings: true, completions: true,
    models: ['meta-llama/Llama-3.3-70B-Instruct', 'deepseek-ai/DeepSeek-V3', 'Qwen/Qwen2.5-72B-Instruct'],
    embeddingModels: ['BAAI/bge-m3'],
    docs: 'https://deepinfra.com/docs/openai_api',
  },
  {
    id: 'sambanova', name: 'SambaNova', baseUrl: 'https://api.sambanova.ai/v1',
    apiKeyEnv: ['SAMBANOVA_API_KEY'], baseUrlEnv: 'SAMBANOVA_BASE_URL',
    models: ['Meta-Llama-3.3-70B-Instruct', 'DeepSeek-V3-0324', 'Llama-4-Maverick-17B-128E-Instruct'],
    docs: 'https://docs.sambanova.ai/cloud/api-reference',
  },
  {
    id: 'nvidia', name: 'NVIDIA NIM', baseUrl: 'https://integrate.api.nvidia.com/v1',
    apiKeyEnv: ['NVIDIA_API_KEY'], baseUrlEnv: 'NVIDIA_BASE_URL',
    embeddings: true,
    models: ['meta/llama-3.3-70b-instruct', 'nvidia/llama-3.1-nemotron-70b-instruct', 'deepseek-ai/deepseek-r1'],
    embeddingModels: ['nvidia/nv-embedqa-e5-v5'],
    docs: 'https://docs.api.nvidia.com/nim/reference/llm-apis',
  },
  {
    id: 'huggingface', name: 'Hugging Face Inference Providers', baseUrl: 'https://router.huggingface.co/v1',
    apiKeyEnv: ['HF_TOKEN', 'HUGGINGFACE_API_KEY'], baseUrlEnv: 'HF_BASE_URL',
    models: ['meta-llama/Llama-3.3-70B-Instruct', 'Qwen/Qwen3-235B-A22B', 'deepseek-ai/DeepSeek-V3-0324'],
    docs: 'https://huggingface.co/docs/inference-providers/index',
  },
  {
    id: 'jina', name: 'Jina AI', baseUrl: 'https://api.jina.ai/v1',
    apiKeyEnv: ['JINA_API_KEY'], baseUrlEnv: 'JINA_BASE_URL',
    chat: false, embeddings: true, rerank: true,
    models: [],
    embeddingModels: ['jina-embeddings-v3', 'jina-embeddings-v4'],
    docs: 'https://jina.ai/reranker/',
  },
  {
    id: 'voyage', name: 'Voyage AI', baseUrl: 'https://api.voyageai.com/v1',
    apiKeyEnv: ['VOYAGE_API_KEY'], baseUrlEnv: 'VOYAGE_BASE_URL',
    chat: false, embeddings: true, rerank: true,
    models: [],
    embeddingModels: ['voyage-3.5', 'voyage-3.5-lite', 'voyage-3-large'],
    docs: 'https://docs.voyageai.com/reference/reranker-api',
  },
  {
    id: 'ollama', name: 'Ollama', baseUrl: 'http://127.0.0.1:11434/v1',
    apiKeyEnv: [], baseUrlEnv: 'OLLAMA_HOST', baseUrlEnvPath: '/v1', keyRequired: false,
    embeddings: true, completions: true,
    models: [],
    docs: 'https://github.com/ollama/ollama/blob/main/docs/openai.md',
  },
  {
    // Any server that speaks the OpenAI API (vLLM, LM Studio, llama.cpp, TGI...), declared in config with a base_url.
    id: 'openai-compatible', name: 'OpenAI-compatible server', baseUrl: 'http://127.0.0.1:8000/v1',
    apiKeyEnv: [], keyRequired: false,
    embeddings: true, completions: true, responses: true,
    images: true, imageEdits: true, speech: true, transcriptions: true, translations: true, rerank: true,
    models: [],
    docs: 'https://platform.openai.com/docs/api-reference/chat',
  },
];

function toDefinition(row: CompatibleRow): ProviderDefinition {
  return {
    id: row.id,
    name: row.name,
    format: 'openai',
    defaultBaseUrl: row.baseUrl,
    apiKeyEnv: row.apiKeyEnv,
    baseUrlEnv: row.baseUrlEnv,
    baseUrlEnvPath: row.baseUrlEnvPath,
    keyRequired: row.keyRequired ?? true,
    keylessWithBaseUrlEnv: row.keylessWithBaseUrlEnv,
    operations: {
      chat: row.chat ?? true,
      models: true,
      embeddings: row.embeddings ?? false,
      completions: row.completions ?? false,
      responses: row.responses ?? false,
      images: row.images ?? false,
      image_edits: row.imageEdits ?? false,
      speech: row.speech ?? false,
      transcriptions: row.transcriptions ?? false,
      translations: row.translations ?? false,
      rerank: row.rerank ?? false,
      moderations: row.moderations ?? false,
    },
    models: row.models,
    embeddingModels: row.embeddingModels,
    endpoint: compatibleEndpoint,
    docs: row.docs,
  };
}

export const openAICompatibleProviders: readonly ProviderDefinition[] = ROWS.map(toDefinition);
