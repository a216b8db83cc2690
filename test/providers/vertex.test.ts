import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors/gateway-error.js';
import type { EndpointContext } from '../../src/providers/types.js';
import {
  VERTEX_DEFAULT_BASE_URL,
  vertexAnthropicProvider,
  vertexBaseUrl,
  vertexProvider,
  vertexSettings,
} from '../../src/providers/vertex.js';

const ctx = (over: Partial<EndpointContext> = {}): EndpointContext => ({
  baseUrl: VERTEX_DEFAULT_BASE_URL,
  apiKey: '/secrets/sa.json',
  model: 'gemini-2.5-pro',
  stream: false,
  options: { project: 'my-project', location: 'europe-west4' },
  ...over,
});

describe('vertexProvider (Gemini on Vertex AI)', () => {
  it('addresses the regional publisher model with generateContent / streamGenerateContent?alt=sse', () => {
    expect(vertexProvider.endpoint('chat', ctx())).toEqual({
      url: 'https://europe-west4-aiplatform.googleapis.com/v1/projects/my-project/locations/europe-west4/publishers/google/models/gemini-2.5-pro:generateContent',
      headers: { 'content-type': 'application/json' },
    });
    expect(vertexProvider.endpoint('chat', ctx({ stream: true }))).toMatchObject({
      url: 'https://europe-west4-aiplatform.googleapis.com/v1/projects/my-project/locations/europe-west4/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse',
      streamFraming: 'sse',
    });
    expect(vertexProvider.format).toBe('gemini');
    expect(vertexProvider.authorize).toBeTypeOf('function');
  });

  it('uses the global host for location global, and a configured base URL as is', () => {
    expect(vertexBaseUrl(VERTEX_DEFAULT_BASE_URL, 'global')).toBe('https://aiplatform.googleapis.com');
    expect(vertexBaseUrl(VERTEX_DEFAULT_BASE_URL, 'us-east5')).toBe('https://us-east5-aiplatform.googleapis.com');
    expect(vertexProvider.endpoint('chat', ctx({ baseUrl: 'http://127.0.0.1:8123' })).url)
      .toBe('http://127.0.0.1:8123/v1/projects/my-project/locations/europe-west4/publishers/google/models/gemini-2.5-pro:generateContent');
  });

  it('embeddings on the publisher model\'s :predict; refuses the other OpenAI operations', () => {
    expect(vertexProvider.endpoint('embeddings', ctx({ model: 'gemini-embedding-001' }))).toEqual({
      url: 'https://europe-west4-aiplatform.googleapis.com/v1/projects/my-project/locations/europe-west4/publishers/google/models/gemini-embedding-001:predict',
      headers: { 'content-type': 'application/json' },
    });
    expect(vertexProvider.embeddingModels).toContain('text-embedding-005');
    expect(() => vertexProvider.endpoint('completions', ctx())).toThrow(GatewayError);
    expect(() => vertexProvider.endpoint('responses', ctx())).toThrow(GatewayError);
  });
});

describe('vertexAnthropicProvider (Claude on Vertex AI)', () => {
  it('addresses rawPredict / streamRawPredict and asks for the Vertex body changes', () => {
    const plain = vertexAnthropicProvider.endpoint('chat', ctx({ model: 'claude-sonnet-4-5@20250929', options: { project: 'p-1', location: 'us-east5' } }));
    expect(plain).toEqual({
      url: 'https://us-east5-aiplatform.googleapis.com/v1/projects/p-1/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict',
      headers: { 'content-type': 'application/json' },
      bodyPatch: { anthropic_version: 'vertex-2023-10-16', model: undefined },
    });
    const streaming = vertexAnthropicProvider.endpoint('chat', ctx({ model: 'claude-haiku-4-5@20251001', stream: true, options: { project: 'p-1', location: 'global' } }));
    expect(streaming.url).toBe('https://aiplatform.googleapis.com/v1/projects/p-1/locations/global/publishers/anthropic/models/claude-haiku-4-5@20251001:streamRawPredict');
    expect(streaming.streamFraming).toBe('sse');
    // Applied the way the pipeline does: spread, then JSON drops the undefined model.
    const body = JSON.parse(JSON.stringify({ model: 'claude-haiku-4-5@20251001', max_tokens: 10, ...streaming.bodyPatch })) as unknown;
    expect(body).toEqual({ max_tokens: 10, anthropic_version: 'vertex-2023-10-16' });
    expect(vertexAnthropicProvider.format).toBe('anthropic');
  });
});

describe('vertexSettings', () => {
  it('prefers options, then GOOGLE_CLOUD_PROJECT / GOOGLE_CLOUD_LOCATION, then us-central1', () => {
    const env = { GOOGLE_CLOUD_PROJECT: 'env-project', GOOGLE_CLOUD_LOCATION: 'asia-northeast1' };
    expect(vertexSettings({ apiKey: undefined, options: { project: 'opt', location: 'europe-west1' } }, env)).toEqual({ project: 'opt', location: 'europe-west1' });
    expect(vertexSettings({ apiKey: undefined, options: {} }, env)).toEqual({ project: 'env-project', location: 'asia-northeast1' });
    expect(vertexSettings({ apiKey: undefined, options: {} }, { GOOGLE_CLOUD_PROJECT: 'p' })).toEqual({ project: 'p', location: 'us-central1' });
  });

  it('takes the project from inline credentials when none is configured', () => {
    const credentials = JSON.stringify({ type: 'service_account', client_email: 'sa@proj-from-key.iam.gserviceaccount.com', private_key: 'x', project_id: 'proj-from-key' });
    expect(vertexSettings({ apiKey: credentials, options: {} }, {})).toEqual({ project: 'proj-from-key', location: 'us-central1' });
  });

  it('says what to set when the project or credentials are missing, and rejects unsafe names', () => {
    expect(() => vertexSettings({ apiKey: undefined, options: {} }, {})).toThrow(/GOOGLE_APPLICATION_CREDENTIALS/);
    const noProject = JSON.stringify({ type: 'service_account', client_email: 'a@b', private_key: 'x' });
    expect(() => vertexSettings({ apiKey: noProject, options: {} }, {})).toThrow(/GOOGLE_CLOUD_PROJECT/);
    expect(() => vertexSettings({ apiKey: undefined, options: { project: 'p', location: '../x' } }, {})).toThrow(GatewayError);
    expect(() => vertexSettings({ apiKey: undefined, options: { project: 'a/b' } }, {})).toThrow(GatewayError);
  });
});
