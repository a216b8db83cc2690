/**
 * The operations one model can serve through Heimdall (`capabilities` of GET /v1/models): what
 * kind of model it is (from its name, the catalog's unit prices and modalities) crossed with what
 * its provider serves (the provider definition's operations).
 *
 * | model kind | how it is known | operations (where the provider serves them) |
 * | --- | --- | --- |
 * | embedding | the provider's embedding list, or `embed` in the name | embeddings, batches |
 * | rerank | `rerank` in the name | rerank |
 * | moderation | `moderation` in the name | moderations |
 * | image | `dall-e`, `gpt-image`, `imagen`, `-image`, Titan Image, Nova Canvas, Stability; a per-image price | images.generations (+ images.edits on OpenAI-format providers; + chat for Gemini image models) |
 * | speech | `tts` in the name; a per-character price | audio.speech |
 * | transcription | `whisper`, `transcribe`; a per-second price | audio.transcriptions (+ audio.translations for Whisper) |
 * | completion | `-instruct`, `davinci-002`, `babbage-002` on OpenAI-format providers | completions |
 * | chat (the rest) | | chat, responses (native or bridged), batches (OpenAI, Anthropic), audio.transcriptions and audio.translations on Gemini and Vertex |
 */
import type { ModelFacts } from '../catalog/types.js';
import type { ProviderRuntime } from '../gateway/provider-runtime.js';
import type { Operation } from '../providers/types.js';

export type Capability =
  | 'chat' | 'responses' | 'completions' | 'embeddings' | 'images.generations' | 'images.edits' | 'audio.speech'
  | 'audio.transcriptions' | 'audio.translations' | 'rerank' | 'moderations' | 'batches';

type Kind = 'embedding' | 'rerank' | 'moderation' | 'image' | 'speech' | 'transcription' | 'completion' | 'chat';

/** Providers whose batch APIs the gateway routes: OpenAI's `/v1/batches`, Anthropic's message batches. */
const BATCH_PROVIDERS: ReadonlySet<string> = new Set(['openai', 'azure', 'anthropic']);

const IMAGE_MODEL = /(^|[/.])(dall-e|gpt-image|imagen-|titan-image|nova-canvas|stable-|sd3)|^stability\.|-image(-|$)/;

function kindOf(model: string, embedding: boolean, facts: ModelFacts, openAIFormat: boolean): Kind {
  const name = model.toLowerCase();
  if (embedding || name.includes('embed')) return 'embedding';
  if (name.includes('rerank')) return 'rerank';
  if (name.includes('moderation')) return 'moderation';
  if (IMAGE_MODEL.test(name) || facts.price?.image !== undefined) return 'image';
  if (/(^|-)tts(-|$)/.test(name) || facts.price?.characters !== undefined) return 'speech';
  if (/whisper|transcribe/.test(name) || facts.price?.audio_second !== undefined) return 'transcription';
  if (openAIFormat && /(-instruct$|^(davinci|babbage)-002$)/.test(name)) return 'completion';
  return 'chat';
}

export function modelCapabilities(provider: ProviderRuntime, model: string, facts: ModelFacts, embedding: boolean): Capability[] {
  const definition = provider.definition;
  const has = (operation: Operation): boolean => provider.supports(operation);
  const openAIFormat = definition.format === 'openai';
  const capabilities: Capability[] = [];
  const add = (capability: Capability, when: boolean): void => {
    if (when) capabilities.push(capability);
  };
  switch (kindOf(model, embedding, facts, openAIFormat)) {
    case 'embedding':
      add('embeddings', has('embeddings'));
      add('batches', BATCH_PROVIDERS.has(definition.id));
      break;
    case 'rerank':
      add('rerank', has('rerank'));
      break;
    case 'moderation':
      add('moderations', has('moderations'));
      break;
    case 'image': {
      // Gemini's image models (gemini-2.5-flash-image) chat too; Imagen, DALL-E and the rest only make images.
      const chats = definition.format === 'gemini' && model.includes('gemini');
      add('chat', chats && has('chat'));
      add('images.generations', has('images'));
      add('images.edits', openAIFormat && has('image_edits'));
      break;
    }
    case 'speech':
      add('audio.speech', has('speech'));
      break;
    case 'transcription':
      add('audio.transcriptions', has('transcriptions'));
      add('audio.translations', model.includes('whisper') && has('translations'));
      break;
    case 'completion':
      add('completions', has('completions'));
      break;
    case 'chat':
      add('chat', has('chat'));
      add('responses', provider.serves('responses'));
      // Every Gemini model hears audio: transcription and translation are prompts to it.
      add('audio.transcriptions', definition.format === 'gemini' && has('transcriptions'));
      add('audio.translations', definition.format === 'gemini' && has('translations'));
      add('batches', BATCH_PROVIDERS.has(definition.id));
      break;
  }
  return capabilities;
}
