/**
 * OpenAI image and file parts -> Converse `image` and `document` blocks.
 * Converse takes bytes (base64 in JSON) or an S3 location, never an http(s) URL.
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ImageBlock.html
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_DocumentBlock.html
 */
import { invalidField } from '../../errors/gateway-error.js';
import type { FilePart, ImagePart } from '../openai/types.js';
import type { BedrockContentBlock, BedrockDocumentFormat, BedrockImageFormat } from './types.js';

/** @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ImageBlock.html */
const IMAGE_FORMATS: Readonly<Record<string, BedrockImageFormat>> = {
  'image/png': 'png', 'image/jpeg': 'jpeg', 'image/jpg': 'jpeg', 'image/gif': 'gif', 'image/webp': 'webp',
  png: 'png', jpeg: 'jpeg', jpg: 'jpeg', gif: 'gif', webp: 'webp',
};

/** @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_DocumentBlock.html */
const DOCUMENT_FORMATS: Readonly<Record<string, BedrockDocumentFormat>> = {
  'application/pdf': 'pdf',
  'text/csv': 'csv',
  'application/msword': 'doc',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.ms-excel': 'xls',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
  'text/html': 'html',
  'text/plain': 'txt',
  'text/markdown': 'md',
};

interface DataUrl {
  mimeType: string;
  base64: string;
}

/** `data:<mime>;base64,<data>` -> parts; undefined for anything else. */
export function parseBase64DataUrl(url: string): DataUrl | undefined {
  if (!url.startsWith('data:')) return undefined;
  const comma = url.indexOf(',');
  if (comma === -1) return undefined;
  const meta = url.slice(5, comma).split(';');
  if (!meta.includes('base64')) return undefined;
  return { mimeType: (meta[0] || 'application/octet-stream').toLowerCase(), base64: url.slice(comma + 1) };
}

export function imageBlock(part: ImagePart, param: string): BedrockContentBlock {
  const url = part.image_url?.url;
  if (typeof url !== 'string') throw invalidField(param, `${param} must be a string.`);
  const data = parseBase64DataUrl(url);
  if (data !== undefined) {
    const format = IMAGE_FORMATS[data.mimeType];
    if (format === undefined) {
      throw invalidField(param, `Bedrock accepts png, jpeg, gif and webp images, not ${data.mimeType}.`);
    }
    return { image: { format, source: { bytes: data.base64 } } };
  }
  if (url.startsWith('s3://')) {
    const extension = url.slice(url.lastIndexOf('.') + 1).toLowerCase();
    const format = IMAGE_FORMATS[extension];
    if (format === undefined) throw invalidField(param, 'An s3:// image URI must end in .png, .jpeg, .jpg, .gif or .webp.');
    return { image: { format, source: { s3Location: { uri: url } } } };
  }
  throw invalidField(
    param,
    'Bedrock Converse does not fetch image URLs; send the image as a base64 data URL (data:image/png;base64,...) or an s3:// URI.',
  );
}

/** Converse document names allow letters, digits, single spaces, hyphens, parentheses and square brackets. */
function documentName(filename: string | undefined, fallback: string): string {
  const base = (filename ?? '').replace(/\.[^.]*$/, '');
  const cleaned = base.replace(/[^A-Za-z0-9\s\-()[\]]/g, '-').replace(/\s+/g, ' ').trim();
  return cleaned.length > 0 ? cleaned : fallback;
}

export function documentBlock(part: FilePart, param: string, fallbackName: string): BedrockContentBlock {
  const fileData = part.file?.file_data;
  if (typeof fileData !== 'string') {
    throw invalidField(`${param}.file.file_data`, 'Bedrock needs the file inline as a base64 data URL in file.file_data; file_id is not supported.');
  }
  const data = parseBase64DataUrl(fileData);
  if (data === undefined) throw invalidField(`${param}.file.file_data`, 'file.file_data must be a base64 data URL (data:application/pdf;base64,...).');
  const format = DOCUMENT_FORMATS[data.mimeType];
  if (format === undefined) throw invalidField(`${param}.file.file_data`, `Bedrock does not accept documents of type ${data.mimeType}.`);
  return { document: { format, name: documentName(part.file.filename, fallbackName), source: { bytes: data.base64 } } };
}
