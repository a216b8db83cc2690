/**
 * Reranking and moderation on the mock upstream.
 *
 * Scores: a document's relevance is the share of the query's words it holds (0-1), ties by index;
 * results sorted by score, cut to top_n / top_k.
 *
 * POST /v2/rerank (Cohere), /jina/v1/rerank (Jina), /v1/rerank (OpenAI-compatible servers):
 *   `{model, query, documents, top_n?, return_documents?}`; `query` a string and `documents` a non-empty
 *   array (400 in Cohere's `{message}` form, Jina's `{detail}`) -> `{id, results: [{index, relevance_score,
 *   document?: {text}}], meta: {billed_units: {search_units: 1}}}` (Jina: `{model, usage: {total_tokens}, results}`).
 * POST /voyage/v1/rerank (Voyage): `{query, documents, model, top_k?, return_documents?, truncation?}`; `top_n` is
 *   refused (400 `{detail}`) -> `{object: 'list', data: [{index, relevance_score, document?}], model, usage: {total_tokens}}`.
 * Bedrock InvokeModel of `cohere.rerank-*` / `amazon.rerank-*` (bedrock.ts): `{query, documents, top_n?, api_version}`
 *   (api_version 2 required for Cohere's) -> `{id, results: [{index, relevance_score}]}`.
 * POST /v1/moderations (OpenAI): `{input, model?}` -> `{id: 'modr-mock-<k>', model, results: [{flagged, categories,
 *   category_scores}]}`, flagged (violence) when the text says "kill".
 * @see https://docs.cohere.com/v2/reference/rerank
 * @see https://jina.ai/reranker/
 * @see https://docs.voyageai.com/reference/reranker-api
 * @see https://platform.openai.com/docs/api-reference/moderations/create
 */
import type { MockContext } from './context.js';
import type { RouteHandler } from './index.js';
import { isRecord } from './openai-common.js';
import { openaiErrorBody } from './openai-errors.js';
import { countWords } from './text.js';

interface RouteTarget {
  route(method: string, path: RegExp, handler: RouteHandler): void;
}

type Json = Record<string, unknown>;

function texts(documents: unknown[]): string[] {
  return documents.map((d) => (typeof d === 'string' ? d : isRecord(d) && typeof d.text === 'string' ? d.text : ''));
}

export function rankDocuments(query: string, documents: string[], top: number | undefined): Array<{ index: number; relevance_score: number }> {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const scored = documents.map((document, index) => {
    const held = new Set(document.toLowerCase().split(/\W+/));
    const score = words.length === 0 ? 0 : words.filter((word) => held.has(word)).length / words.length;
    return { index, relevance_score: Math.round(score * 1000) / 1000 };
  });
  scored.sort((a, b) => b.relevance_score - a.relevance_score || a.index - b.index);
  return top === undefined ? scored : scored.slice(0, top);
}

function checked(context: MockContext, refuse: (message: string) => Promise<void>): { body: Json; documents: string[] } | Promise<void> {
  const body = context.request.body;
  if (!isRecord(body)) return refuse('invalid request: body must be a JSON object');
  if (typeof body.query !== 'string') return refuse('invalid request: query must be a string');
  if (!Array.isArray(body.documents) || body.documents.length === 0) return refuse('invalid request: list of documents must not be empty');
  return { body, documents: texts(body.documents) };
}

function cohereStyle(jina: boolean) {
  return (context: MockContext): Promise<void> => {
    const read = checked(context, (message) => context.json(400, jina ? { detail: message } : { message }));
    if (read instanceof Promise) return read;
    const { body, documents } = read;
    const results = rankDocuments(body.query as string, documents, typeof body.top_n === 'number' ? body.top_n : undefined)
      .map((result) => (body.return_documents === true ? { ...result, document: { text: documents[result.index] } } : result));
    if (jina) {
      const tokens = countWords(body.query as string) + documents.reduce((sum, d) => sum + countWords(d), 0);
      return context.json(200, { model: body.model, usage: { total_tokens: tokens }, results });
    }
    return context.json(200, { id: context.nextId('rerank-mock-'), results, meta: { api_version: { version: '2' }, billed_units: { search_units: 1 } } });
  };
}

function voyage(context: MockContext): Promise<void> {
  const read = checked(context, (message) => context.json(400, { detail: message }));
  if (read instanceof Promise) return read;
  const { body, documents } = read;
  if (body.top_n !== undefined) return context.json(400, { detail: "Unexpected argument 'top_n'. Did you mean 'top_k'?" });
  const data = rankDocuments(body.query as string, documents, typeof body.top_k === 'number' ? body.top_k : undefined)
    .map((result) => (body.return_documents === true ? { ...result, document: documents[result.index] } : result));
  const tokens = countWords(body.query as string) + documents.reduce((sum, d) => sum + countWords(d), 0);
  return context.json(200, { object: 'list', data, model: body.model, usage: { total_tokens: tokens } });
}

/** Bedrock InvokeModel of a rerank model; undefined when the model is not one. */
export function bedrockRerank(context: MockContext, model: string, body: Json, error: (message: string) => Promise<void>): Promise<void> | undefined {
  if (!/(^|\.)(cohere|amazon)\.rerank-/.test(model)) return undefined;
  if (model.includes('cohere.') && body.api_version !== 2) return error('Malformed input request: #/api_version: expected 2, please reformat your input and try again.');
  if (typeof body.query !== 'string' || !Array.isArray(body.documents)) return error('Malformed input request: #: required key [query] not found, please reformat your input and try again.');
  const results = rankDocuments(body.query, texts(body.documents), typeof body.top_n === 'number' ? body.top_n : undefined);
  return context.json(200, { id: context.nextId('bedrock-rerank-'), results });
}

const CATEGORIES = ['harassment', 'hate', 'self-harm', 'sexual', 'violence'];

function moderations(context: MockContext): Promise<void> {
  const body = context.request.body;
  if (!isRecord(body) || (typeof body.input !== 'string' && !Array.isArray(body.input))) {
    return context.json(400, openaiErrorBody(400, "Missing required parameter: 'input'.", { param: 'input', code: 'missing_required_parameter' }));
  }
  const inputs = typeof body.input === 'string' ? [body.input] : body.input.map((item) => (typeof item === 'string' ? item : isRecord(item) && typeof item.text === 'string' ? item.text : ''));
  const results = inputs.map((input) => {
    const violent = /\bkill\b/i.test(input);
    return {
      flagged: violent,
      categories: Object.fromEntries(CATEGORIES.map((c) => [c, c === 'violence' && violent])),
      category_scores: Object.fromEntries(CATEGORIES.map((c) => [c, c === 'violence' && violent ? 0.9 : 0.001])),
    };
  });
  return context.json(200, { id: context.nextId('modr-mock-'), model: typeof body.model === 'string' ? body.model : 'omni-moderation-latest', results });
}

export function registerRerankRoutes(target: RouteTarget): void {
  target.route('POST', /^\/v2\/rerank$/, cohereStyle(false));
  target.route('POST', /^\/v1\/rerank$/, cohereStyle(false));
  target.route('POST', /^\/jina\/v1\/rerank$/, cohereStyle(true));
  target.route('POST', /^\/voyage\/v1\/rerank$/, voyage);
  target.route('POST', /^\/v1\/moderations$/, moderations);
}
