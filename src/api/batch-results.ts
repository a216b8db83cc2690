/**
 * A batch's results read as they stream to the caller (a BodyTap): each JSON
 * line's usage priced at the model's batch price (catalog/batch-price.ts),
 * added up, and charged once (batch-jobs.ts claims the charge).
 *
 * | results | a line's answer |
 * | --- | --- |
 * | OpenAI and Azure output file | `response.body` (a chat completion, response or embedding list with `model` and `usage`) |
 * | Anthropic `.../results` | `result.message` when `result.type` is `succeeded` |
 * @see https://platform.openai.com/docs/guides/batch#5-retrieve-the-results
 * @see https://docs.anthropic.com/en/api/retrieving-message-batch-results
 */
import type { Usage } from '../formats/openai/types.js';
import { usageOfJson } from '../gateway/raw-usage.js';
import { costOf, roundUsd, tokenCounts } from '../governance/cost.js';
import type { ModelPrice } from '../governance/pricing.js';
import type { BodyTap } from './raw-reply.js';

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A results line's answer: the object that carries `model` and `usage`. */
function answerOf(line: Json): Json | undefined {
  if (isRecord(line.response) && isRecord(line.response.body)) return line.response.body;
  if (isRecord(line.result) && line.result.type === 'succeeded' && isRecord(line.result.message)) return line.result.message;
  return undefined;
}

/** What a batch's results came to. */
export interface BatchTotals {
  /** USD at batch prices; null when some answer's model has no known price. */
  costUsd: number | null;
  inputTokens: number;
  outputTokens: number;
  /** Lines with usage. */
  answers: number;
}

export interface BatchResultsOptions {
  /** The batch price of a model the results name (the batch's provider); undefined: unknown. */
  price(model: string): ModelPrice | undefined;
  /** The model a line without one is priced as (the batch's). */
  fallbackModel: string | undefined;
  /** The batch ran embeddings (priced as embeddings). */
  embeddings: boolean;
  /** The results were read whole (or not): settles the request's cost. */
  done(totals: BatchTotals | undefined): void;
}

const NEWLINE = 10;

export class BatchResultsTap implements BodyTap {
  private pending: Buffer[] = [];
  private micro = 0;
  private unknown = false;
  private input = 0;
  private output = 0;
  private answers = 0;
  private ended = false;

  constructor(private readonly options: BatchResultsOptions) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (let at = chunk.indexOf(NEWLINE); at !== -1; at = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, at);
      const line = this.pending.length === 0 ? piece : Buffer.concat([...this.pending, piece]);
      this.pending = [];
      this.line(line);
      start = at + 1;
    }
    if (start < chunk.length) this.pending.push(chunk.subarray(start));
  }

  end(complete: boolean): void {
    if (this.ended) return;
    this.ended = true;
    if (!complete) {
      this.options.done(undefined);
      return;
    }
    if (this.pending.length > 0) this.line(Buffer.concat(this.pending));
    this.pending = [];
    this.options.done({ costUsd: this.unknown ? null : roundUsd(this.micro), inputTokens: this.input, outputTokens: this.output, answers: this.answers });
  }

  /** The totals' usage in the canonical shape (the request log's tokens). */
  static usageOf(totals: BatchTotals): Usage {
    return { prompt_tokens: totals.inputTokens, completion_tokens: totals.outputTokens, total_tokens: totals.inputTokens + totals.outputTokens };
  }

  private line(bytes: Buffer): void {
    if (bytes.length === 0 || bytes.every((byte) => byte === 32 || byte === 13 || byte === 9)) return;
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch {
      return; // observation only: the caller gets the bytes as they came
    }
    if (!isRecord(value)) return;
    const answer = answerOf(value);
    if (answer === undefined) return;
    const usage = usageOfJson(answer);
    const tokens = tokenCounts(usage);
    if (tokens === undefined) return;
    this.answers++;
    this.input += tokens.input;
    this.output += tokens.output;
    const model = typeof answer.model === 'string' && answer.model !== '' ? answer.model : this.options.fallbackModel;
    const price = model === undefined ? undefined : this.options.price(model);
    const cost = price === undefined ? null : costOf(price, tokens, this.options.embeddings);
    if (cost === null) this.unknown = true;
    else this.micro += cost;
  }
}
