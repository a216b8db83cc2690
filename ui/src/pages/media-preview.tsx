/**
 * The preview of a media request in its log (images, speech, transcriptions, rerank, moderations):
 * the facts the gateway noted at request time (`metadata.media`: counts, sizes, seconds, file
 * names), and what the logged response body shows when body logging is on (image thumbnails, the
 * transcript, the top results, the flagged categories). Images given as URLs are linked, not
 * shown: the dashboard loads no third-party content.
 */
import type { ReactNode } from 'react';
import type { LogDetail } from '../api/types.js';
import { Card } from '../components/ui.js';
import { DASH, formatBytes, formatInteger } from '../lib/format.js';

interface UploadFile {
  field?: string;
  filename?: string;
  type?: string;
}

interface MediaFacts {
  kind?: string;
  n?: number;
  images?: number;
  size?: string;
  quality?: string;
  response_format?: string;
  format?: string;
  voice?: string;
  characters?: number;
  seconds?: number;
  response_bytes?: number;
  upload_bytes?: number;
  files?: UploadFile[];
  language?: string;
  documents?: number;
  top_n?: number;
  inputs?: number;
  input_types?: string[];
}

const TITLES: Readonly<Record<string, string>> = {
  images: 'Images',
  image_edits: 'Image edit',
  speech: 'Speech',
  transcriptions: 'Transcription',
  translations: 'Translation',
  rerank: 'Rerank',
  moderations: 'Moderation',
};

/** Most thumbnails shown (a logged body may hold more). */
const MAX_THUMBNAILS = 8;

type Json = Record<string, unknown>;

function parsed(text: string | null): Json | undefined {
  if (text === null) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
  } catch {
    return undefined;
  }
}

/** The images of a logged answer: whole base64 strings (a body cut at the cap keeps the complete ones) and URLs. */
export function loggedImages(body: string | null): { data: string[]; urls: string[] } {
  if (body === null) return { data: [], urls: [] };
  const format = /"output_format"\s*:\s*"(png|jpeg|webp)"/.exec(body)?.[1] ?? 'png';
  const data: string[] = [];
  for (const match of body.matchAll(/"b64_json"\s*:\s*"([A-Za-z0-9+/=]+)"/g)) {
    if (data.length < MAX_THUMBNAILS) data.push(`data:image/${format};base64,${match[1]}`);
  }
  const urls = [...body.matchAll(/"url"\s*:\s*"(https?:[^"]+)"/g)].map((match) => JSON.parse(`"${match[1]}"`) as string).slice(0, MAX_THUMBNAILS);
  return { data, urls };
}

function seconds(value: number | undefined): string {
  if (value === undefined) return DASH;
  return value < 60 ? `${value.toFixed(value < 10 ? 2 : 1)} s` : `${Math.floor(value / 60)} min ${Math.round(value % 60)} s`;
}

function Facts({ rows }: { rows: Array<[string, ReactNode, boolean?]> }) {
  const shown = rows.filter(([, value, hide]) => hide !== true && value !== undefined && value !== null && value !== '');
  return (
    <dl className="kv">
      {shown.map(([label, value]) => (
        <FactRow key={label} label={label} value={value} />
      ))}
    </dl>
  );
}

function FactRow({ label, value }: { label: string; value: ReactNode }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </>
  );
}

function ImagePreview({ facts, log }: { facts: MediaFacts; log: LogDetail }) {
  const { data, urls } = loggedImages(log.response_body);
  const files = facts.files ?? [];
  return (
    <>
      <Facts
        rows={[
          ['Images', facts.images === undefined ? `${formatInteger(facts.n)} asked` : `${formatInteger(facts.images)} made (${formatInteger(facts.n)} asked)`],
          ['Size', facts.size],
          ['Quality', facts.quality],
          ['Answer as', facts.response_format],
          ['Uploaded', files.length === 0 ? undefined : files.map((file) => file.filename).join(', ')],
          ['Answer size', facts.response_bytes === undefined ? undefined : formatBytes(facts.response_bytes)],
        ]}
      />
      {data.length + urls.length === 0 ? (
        log.status < 400 ? <p className="muted" style={{ marginTop: 8 }}>No thumbnail: the response body is not kept{log.response_body === null ? '' : ' whole'}.</p> : null
      ) : (
        <div className="row" style={{ gap: 8, marginTop: 12, flexWrap: 'wrap' }} data-testid="media-thumbnails">
          {data.map((src, index) => (
            <img key={index} src={src} alt={`Image ${index + 1}`} width={96} height={96} style={{ objectFit: 'contain', border: '1px solid var(--border)', borderRadius: 6, background: 'var(--surface-2)' }} />
          ))}
          {urls.map((url, index) => (
            <a key={url} href={url} target="_blank" rel="noreferrer noopener">
              Image {data.length + index + 1} (URL)
            </a>
          ))}
        </div>
      )}
    </>
  );
}

function AudioPreview({ facts, log }: { facts: MediaFacts; log: LogDetail }) {
  const transcript = facts.kind === 'speech' ? undefined : (parsed(log.response_body)?.text ?? (facts.response_format === 'text' ? log.response_body : undefined));
  const files = facts.files ?? [];
  return (
    <>
      <Facts
        rows={[
          ['Duration', facts.seconds === undefined ? undefined : seconds(facts.seconds)],
          ['Format', facts.kind === 'speech' ? (facts.format ?? 'mp3') : facts.response_format],
          ['Voice', facts.voice],
          ['Characters', facts.characters === undefined ? undefined : formatInteger(facts.characters)],
          ['Audio size', facts.kind === 'speech' && facts.response_bytes !== undefined ? formatBytes(facts.response_bytes) : undefined],
          ['Language', facts.language],
          [files.length === 1 ? 'File' : 'Files', files.length === 0 ? undefined : files.map((file) => `${file.filename ?? '?'}${file.type === undefined ? '' : ` (${file.type})`}`).join(', ')],
          ['Upload size', facts.upload_bytes === undefined ? undefined : formatBytes(facts.upload_bytes)],
        ]}
      />
      {typeof transcript === 'string' && transcript !== '' ? (
        <blockquote className="muted" style={{ marginTop: 8, whiteSpace: 'pre-wrap' }} data-testid="media-transcript">
          {transcript.length > 600 ? `${transcript.slice(0, 600)}…` : transcript}
        </blockquote>
      ) : null}
    </>
  );
}

function RerankPreview({ facts, log }: { facts: MediaFacts; log: LogDetail }) {
  const results = parsed(log.response_body)?.results;
  const top = Array.isArray(results) ? (results as Array<{ index?: number; relevance_score?: number }>).slice(0, 3) : [];
  return (
    <Facts
      rows={[
        ['Documents', formatInteger(facts.documents)],
        ['Top n', facts.top_n === undefined ? undefined : formatInteger(facts.top_n)],
        ['Best', top.length === 0 ? undefined : top.map((result) => `#${result.index ?? '?'} (${typeof result.relevance_score === 'number' ? result.relevance_score.toFixed(3) : '?'})`).join(', ')],
      ]}
    />
  );
}

function ModerationPreview({ facts, log }: { facts: MediaFacts; log: LogDetail }) {
  const results = parsed(log.response_body)?.results;
  const list = Array.isArray(results) ? (results as Array<{ flagged?: boolean; categories?: Record<string, boolean> }>) : [];
  const flagged = list.filter((result) => result.flagged === true);
  const categories = [...new Set(flagged.flatMap((result) => Object.entries(result.categories ?? {}).filter(([, on]) => on).map(([name]) => name)))];
  return (
    <Facts
      rows={[
        ['Inputs', `${formatInteger(facts.inputs)}${facts.input_types === undefined ? '' : ` (${facts.input_types.join(', ')})`}`],
        ['Flagged', list.length === 0 ? undefined : `${flagged.length} of ${list.length}`],
        ['Categories', categories.length === 0 ? undefined : categories.join(', ')],
      ]}
    />
  );
}

/** The preview card of a media request; nothing for any other request. */
export function MediaPreview({ log }: { log: LogDetail }) {
  const facts = log.metadata?.media as MediaFacts | undefined;
  if (facts === undefined || typeof facts.kind !== 'string' || TITLES[facts.kind] === undefined) return null;
  let body: ReactNode;
  if (facts.kind === 'images' || facts.kind === 'image_edits') body = <ImagePreview facts={facts} log={log} />;
  else if (facts.kind === 'rerank') body = <RerankPreview facts={facts} log={log} />;
  else if (facts.kind === 'moderations') body = <ModerationPreview facts={facts} log={log} />;
  else body = <AudioPreview facts={facts} log={log} />;
  return (
    <Card title={TITLES[facts.kind]}>
      <div data-testid="media-preview">{body}</div>
    </Card>
  );
}
