/**
 * Reranking in Cohere's shape (`POST /v1/rerank`, which the ecosystem uses:
 * LangChain, LlamaIndex, LiteLLM) <-> the providers that speak another:
 *
 * | Cohere (caller) | Voyage | Cohere on Bedrock (InvokeModel) |
 * | --- | --- | --- |
 * | `query`, `documents` (strings, or `{text}`) | same (strings) | same, `api_version: 2` |
 * | `top_n` | `top_k` | `top_n` |
 * | `return_documents` | same | (none: documents are added back by index) |
 * | answer `results[{index, relevance_score, document?}]` | `data[{index, relevance_score, document?}]` | `results[...]` |
 *
 * Cohere itself, Jina and OpenAI-compatible servers (vLLM, TEI, Infinity) take
 * Cohere's shape as it is: the caller's body goes to them with only `model` rewritten.
 * @see https://docs.cohere.com/v2/reference/rerank
 * @see https://docs.voyageai.com/reference/reranker-api
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-cohere-rerank.html
 */
import type { Usage } from '../openai/types.js';
import type { CodecWarning } from '../types.js';

type Json = Record<string, unknown>;

export interface RerankRequest {
  model: string;
  query: string;
  documents: Array<string | { text: string }>;
  top_n?: number;
  return_documents?: boolean;
  [field: string]: unknown;
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The documents as strings (a `{text}` object gives its text). */
export function documentTexts(documents: RerankRequest['documents']): string[] {
  return documents.map((document) => (typeof document === 'string' ? document : document.text));
}

const COMMON = new Set(['model', 'query', 'documents', 'top_n', 'return_documents', 'fallbacks']);

function dropped(request: RerankRequest, target: string, kept: ReadonlySet<string>): CodecWarning[] {
  return Object.keys(request)
    .filter((field) => !COMMON.has(field) && !kept.has(field) && request[field] !== undefined)
    .map((field) => ({ param: field, message: `${target} has no equivalent of "${field}"; dropped.` }));
}

export function encodeVoyageRerank(request: RerankRequest, model: string): { body: Json; warnings: CodecWarning[] } {
  const body: Json = { model, query: request.query, documents: documentTexts(request.documents) };
  if (request.top_n !== undefined) body.top_k = request.top_n;
  if (request.return_documents !== undefined) body.return_documents = request.return_documents;
  return { body, warnings: dropped(request, 'Voyage', new Set()) };
}

export function encodeBedrockRerank(request: RerankRequest, model: string): { body: Json; warnings: CodecWarning[] } {
  const body: Json = { query: request.query, documents: documentTexts(request.documents), api_version: 2 };
  if (request.top_n !== undefined) body.top_n = request.top_n;
  if (/^(?:[a-z]+\.)?cohere\./.test(model) && typeof request.max_tokens_per_doc === 'number') body.max_tokens_per_doc = request.max_tokens_per_doc;
  return { body, warnings: dropped(request, 'Rerank on Bedrock', new Set(['max_tokens_per_doc'])) };
}

interface Ranked {
  index: number;
  relevance_score: number;
}

function ranked(items: unknown): Ranked[] {
  if (!Array.isArray(items)) throw new Error('the answer has no list of results');
  return items.filter(isRecord).map((item) => {
    if (typeof item.index !== 'number' || typeof item.relevance_score !== 'number') throw new Error('a result has no index or relevance_score');
    return { index: item.index, relevance_score: item.relevance_score };
  });
}

/** Cohere's answer for results ranked elsewhere: documents added back by index when asked. */
function cohereAnswer(id: string, results: Ranked[], request: RerankRequest, usage: Usage | undefined): { body: Json; usage: Usage | undefined } {
  const texts = documentTexts(request.documents);
  const body: Json = {
    id,
    results: results.map((result) => (request.return_documents === true && texts[result.index] !== undefined ? { ...result, document: { text: texts[result.index] } } : result)),
    meta: { api_version: { version: '2' }, ...(usage === undefined ? {} : { billed_units: { input_tokens: usage.prompt_tokens } }) },
  };
  return { body, usage };
}

export function decodeVoyageRerank(answer: unknown, request: RerankRequest, id: string): { body: Json; usage: Usage | undefined } {
  if (!isRecord(answer)) throw new Error('the Voyage answer is not a JSON object');
  const tokens = isRecord(answer.usage) && typeof answer.usage.total_tokens === 'number' ? answer.usage.total_tokens : undefined;
  const usage = tokens === undefined ? undefined : { prompt_tokens: tokens, completion_tokens: 0, total_tokens: tokens };
  return cohereAnswer(id, ranked(answer.data), request, usage);
}

export function decodeBedrockRerank(answer: unknown, request: RerankRequest, id: string): { body: Json; usage: Usage | undefined } {
  if (!isRecord(answer)) throw new Error('the Bedrock answer is not a JSON object');
  return cohereAnswer(typeof answer.id === 'string' ? answer.id : id, ranked(answer.results), request, undefined);
}
