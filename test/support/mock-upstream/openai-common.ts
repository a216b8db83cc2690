import type { ContentPart } from '../../../src/formats/openai/types.js';
import type { MockContext } from './context.js';
import { openaiErrorBody } from './openai-errors.js';

/** `created` / `created_at` of every mock reply, so whole objects can be compared. */
export const MOCK_CREATED = 1_700_000_000;

export const MOCK_SYSTEM_FINGERPRINT = 'fp_mock';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The text of a message's content: a string as is; the `text` of text-like parts
 * (`text`, `input_text`, `output_text`) joined with ' '; anything else ''.
 */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return (content as Array<ContentPart | Record<string, unknown>>)
    .filter((part) => isRecord(part) && typeof part.text === 'string' && /^(text|input_text|output_text)$/.test(String(part.type)))
    .map((part) => (part as { text: string }).text)
    .join(' ');
}

/** The content text of the last message whose role is 'user' ('' when there is none). */
export function lastUserText(messages: readonly unknown[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    if (isRecord(message) && message.role === 'user') return contentText(message.content);
  }
  return '';
}

/** 400 as OpenAI sends it for a missing or malformed parameter. */
export function invalidParam(context: MockContext, param: string, message: string): Promise<void> {
  return context.json(400, openaiErrorBody(400, message, { param }));
}

/** Checks the JSON body is an object with a string `model`; replies 400 and returns undefined otherwise. */
export async function requireBody(context: MockContext): Promise<Record<string, unknown> | undefined> {
  const body = context.request.body;
  if (!isRecord(body)) {
    await context.json(400, openaiErrorBody(400, 'We could not parse the JSON body of your request.'));
    return undefined;
  }
  if (typeof body.model !== 'string') {
    await invalidParam(context, 'model', "Missing required parameter: 'model'.");
    return undefined;
  }
  return body;
}
