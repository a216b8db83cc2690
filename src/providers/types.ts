import type { WireFormat } from '../formats/types.js';

export type Operation = 'chat' | 'completions' | 'embeddings' | 'responses' | 'models' | MediaOperation;

/** The operations whose answers the gateway forwards as bytes or translates whole (src/api/media.ts). */
export type MediaOperation = 'images' | 'image_edits' | 'speech' | 'transcriptions' | 'translations' | 'rerank' | 'moderations';

/** What a provider definition needs to address one upstream call. */
export interface EndpointContext {
  /** Base URL from config/env/default, without a trailing slash. */
  baseUrl: string;
  /** The key chosen for this attempt; undefined for keyless providers (Ollama). */
  apiKey: string | undefined;
  /** The provider's own model id. */
  model: string;
  stream: boolean;
  /** Provider-specific settings from config (Azure api_version, Bedrock region, ...). */
  options: Readonly<Record<string, unknown>>;
}

export interface Endpoint {
  /** Absolute URL of the call. */
  url: string;
  headers: Record<string, string>;
  /** How the response stream is framed. */
  streamFraming?: 'sse' | 'aws-eventstream';
  /**
   * Top-level fields to set on the encoded JSON body before it is sent, after
   * the codec (and on pass-through too); a value of `undefined` removes the
   * field. Vertex AI's Claude wants `anthropic_version` in the body and no `model`.
   */
  bodyPatch?: Readonly<Record<string, unknown>>;
}

/**
 * A provider's own token-count call (Anthropic count_tokens, Gemini countTokens).
 * Its body is the caller's, in `format`, with the model rewritten to the
 * provider's own id where the body names one; the answer goes back as it is.
 */
export interface CountTokensEndpoint extends Endpoint {
  /** The wire format of the request and the answer: only a surface of the same format can use it. */
  format: 'anthropic' | 'gemini';
}

/**
 * Signs or authorises a call after its body is encoded (SigV4 needs the body;
 * Vertex needs an access token fetched and cached). May do I/O; lives outside formats/.
 */
export type Authorizer = (call: {
  method: string;
  url: string;
  headers: Record<string, string>;
  /** Bytes on a raw call (native pass-through, a multipart upload). */
  body: string | Uint8Array;
  context: EndpointContext;
}) => Promise<Record<string, string>> | Record<string, string>;

export interface ProviderDefinition {
  /** The `provider/` prefix in model names. */
  id: string;
  /** Human name for banners, docs and the dashboard. */
  name: string;
  format: WireFormat;
  defaultBaseUrl: string;
  /** Environment variables holding an API key, in order of preference (official SDK names first). */
  apiKeyEnv: readonly string[];
  /** Environment variable that overrides the base URL, as in the official SDK. */
  baseUrlEnv?: string;
  /**
   * The API path the official SDK appends to a host-root base URL (Groq `/openai/v1`, Mistral and
   * Cerebras `/v1`). A base URL from the environment, the config file or the dashboard that does not
   * end with it gets it appended, so the three mean the same thing.
   */
  baseUrlEnvPath?: string;
  /** A base URL set in the environment with no key enables the provider without a key (a local server: vLLM, LM Studio, Ollama). */
  keylessWithBaseUrlEnv?: boolean;
  /**
   * Provider options read from environment variables when the config does not set them
   * (option name -> variables in order), e.g. Bedrock's region from AWS_REGION.
   */
  optionsEnv?: Readonly<Record<string, readonly string[]>>;
  /** False for local servers (Ollama, LM Studio) that take no key. */
  keyRequired: boolean;
  operations: Readonly<Partial<Record<Operation, boolean>>>;
  /** Well-known chat models, used for GET /v1/models and bare-name routing. */
  models: readonly string[];
  embeddingModels?: readonly string[];
  /**
   * The models an entry serves, read from its options when the entry lists none (`models` and
   * `embedding_models` unset): Azure's deployment map. Undefined: the well-known lists above.
   */
  modelsFromOptions?(options: Readonly<Record<string, unknown>>): { models: string[]; embeddingModels: string[] } | undefined;
  /** Where a call goes and with which headers. */
  endpoint(operation: Operation, context: EndpointContext): Endpoint;
  /** Where a token count goes, for providers that have one (authorize applies to it too). */
  countTokens?(context: EndpointContext): CountTokensEndpoint;
  authorize?: Authorizer;
  /** Docs link for the provider's API reference. */
  docs?: string;
  /**
   * The caller headers forwarded by default on a call in the caller's own format, when they differ
   * from the wire format's protocol headers (DEFAULT_FORWARD_HEADERS in forward-headers.ts).
   */
  forwardHeaders?: readonly string[];
}
