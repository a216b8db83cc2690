import { invalidField } from '../../errors/gateway-error.js';
import type { ContentPart } from '../openai/types.js';
import type { CodecWarning } from '../types.js';
import type {
  AnthropicDocumentBlock,
  AnthropicImageBlock,
  AnthropicTextBlock,
  CacheControl,
} from './types.js';

export type UserBlock = AnthropicTextBlock | AnthropicImageBlock | AnthropicDocumentBlock;

/**
 * Canonical content parts -> Anthropic user content blocks.
 * @see https://docs.anthropic.com/en/docs/build-with-claude/vision#base64-encoded-image-example
 * @see https://docs.anthropic.com/en/docs/build-with-claude/pdf-support
 */

interface DataUrl {
  mediaType: string;
  data: string;
}

/** `data:image/png;base64,AAAA` -> parts; undefined when it is not a base64 data URL. */
export function parseDataUrl(url: string): DataUrl | undefined {
  if (!url.startsWith('data:')) return undefined;
  const comma = url.indexOf(',');
  if (comma === -1) return undefined;
  const meta = url.slice(5, comma).split(';');
  if (!meta.includes('base64')) return undefined;
  return { mediaType: meta[0] || 'application/octet-stream', data: url.slice(comma + 1) };
}

/** The `cache_control` marker a canonical part or message carries as an extra field. */
export function cacheControlOf(value: Record<string, unknown>): CacheControl | undefined {
  const marker = value.cache_control;
  if (typeof marker === 'object' && marker !== null && !Array.isArray(marker)) return marker as CacheControl;
  return undefined;
}

function withCache<T extends { cache_control?: CacheControl | null }>(block: T, part: Record<string, unknown>): T {
  const marker = cacheControlOf(part);
  if (marker !== undefined) block.cache_control = marker;
  return block;
}

/** Citations an Anthropic caller's assistant text carried: sent back as they came. */
function withCitations(block: AnthropicTextBlock, part: Record<string, unknown>): AnthropicTextBlock {
  if (Array.isArray(part.citations) && part.citations.length > 0) block.citations = part.citations;
  return block;
}

function base64Block(data: DataUrl, path: string, warnings: CodecWarning[]): UserBlock | undefined {
  if (data.mediaType.startsWith('image/')) {
    return { type: 'image', source: { type: 'base64', media_type: data.mediaType, data: data.data } };
  }
  if (data.mediaType === 'application/pdf') {
    return { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: data.data } };
  }
  warnings.push({ param: path, message: `Anthropic takes images and PDFs only; a ${data.mediaType} attachment was dropped.` });
  return undefined;
}

function imageBlock(part: Extract<ContentPart, { type: 'image_url' }>, path: string, warnings: CodecWarning[]): UserBlock | undefined {
  const url = typeof part.image_url === 'object' && part.image_url !== null ? part.image_url.url : undefined;
  if (typeof url !== 'string' || url === '') throw invalidField(`${path}.image_url.url`, 'An image part needs an image_url.url string.');
  const detail = part.image_url.detail;
  if (detail !== undefined && detail !== 'auto') {
    warnings.push({ param: `${path}.image_url.detail`, message: 'Anthropic has no image detail setting; it was ignored.' });
  }
  let block: UserBlock | undefined;
  if (url.startsWith('data:')) {
    const data = parseDataUrl(url);
    if (data === undefined) throw invalidField(`${path}.image_url.url`, 'A data: URL image must be base64 encoded.');
    block = base64Block(data, path, warnings);
  } else if (/^https?:\/\//i.test(url)) {
    block = { type: 'image', source: { type: 'url', url } };
  } else {
    throw invalidField(`${path}.image_url.url`, 'An image URL must be an http(s) URL or a base64 data: URL.');
  }
  return block === undefined ? undefined : withCache(block, part);
}

function fileBlock(part: Extract<ContentPart, { type: 'file' }>, path: string, warnings: CodecWarning[]): UserBlock | undefined {
  const file = part.file ?? {};
  if (typeof file.file_data === 'string' && file.file_data !== '') {
    const data = parseDataUrl(file.file_data);
    if (data === undefined) throw invalidField(`${path}.file.file_data`, 'file_data must be a base64 data: URL.');
    const block = base64Block(data, path, warnings);
    if (block?.type === 'document' && typeof file.filename === 'string') block.title = file.filename;
    return block === undefined ? undefined : withCache(block, part as unknown as Record<string, unknown>);
  }
  warnings.push({ param: `${path}.file`, message: 'Anthropic cannot read OpenAI file ids; the file part was dropped.' });
  return undefined;
}

/** One canonical part -> one Anthropic block, or undefined (dropped with a warning, or empty text). */
export function encodePart(part: ContentPart, path: string, warnings: CodecWarning[]): UserBlock | undefined {
  if (typeof part !== 'object' || part === null) throw invalidField(path, 'A content part must be an object.');
  switch (part.type) {
    case 'text':
      if (typeof part.text !== 'string') throw invalidField(`${path}.text`, 'A text part needs a text string.');
      // Anthropic rejects empty text blocks; an empty part carries nothing.
      if (part.text === '') return undefined;
      return withCitations(withCache<AnthropicTextBlock>({ type: 'text', text: part.text }, part), part);
    case 'image_url':
      return imageBlock(part, path, warnings);
    case 'file':
      return fileBlock(part, path, warnings);
    case 'input_audio':
      warnings.push({ param: path, message: 'Anthropic does not take audio input; the audio part was dropped.' });
      return undefined;
    default:
      warnings.push({
        param: path,
        message: `Content part type '${String((part as { type?: unknown }).type)}' is not supported by Anthropic; it was dropped.`,
      });
      return undefined;
  }
}

/** Canonical message content -> Anthropic blocks (string content becomes one text block). */
export function encodeContent(
  content: string | ContentPart[] | null | undefined,
  path: string,
  warnings: CodecWarning[],
): UserBlock[] {
  if (content === null || content === undefined) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  if (!Array.isArray(content)) throw invalidField(path, 'Message content must be a string or an array of content parts.');
  const blocks: UserBlock[] = [];
  content.forEach((part, j) => {
    const block = encodePart(part, `${path}[${j}]`, warnings);
    if (block !== undefined) blocks.push(block);
  });
  return blocks;
}
