/**
 * The package's entry: `import { createGateway } from 'heimdall-gateway'`
 * (docs/library.md) and the plugin API's types and helpers (docs/plugins.md).
 */
export { createGateway, HeimdallError, type CallOptions, type CreateGatewayOptions, type HeimdallGateway, type JsonObject } from './library/create-gateway.js';
export {
  STAGES, definePlugin, refuse, PluginRefusal,
  type Stage, type Plugin, type PluginFactory, type PluginContext, type PluginLogger, type PluginRequest, type PluginSurface,
  type PluginOperation, type PluginTarget, type PluginVirtualKey, type RoutingStage, type EarlyAnswer, type AttemptStage,
  type FinalAnswer, type ErrorInfo, type CompletedRequest, type Timings,
  type ChatCompletion, type ChatCompletionChunk, type ChatRequest, type EmbeddingRequest, type EmbeddingResponse, type Usage,
} from './plugins/types.js';
export type { PluginEntry } from './plugins/config-schema.js';
export type { ConfigFileInput } from './config/schema.js';
