import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  bedrockAuthMode, bedrockBaseUrl, bedrockCredentials, bedrockProvider, bedrockRegion, signBedrockRequest,
} from '../../src/providers/bedrock.js';
import type { EndpointContext } from '../../src/providers/types.js';
import { GatewayError } from '../../src/errors/gateway-error.js';

const AKID = 'AKIDEXAMPLE00000000';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';

function context(overrides: Partial<EndpointContext> = {}): EndpointContext {
  return {
    baseUrl: 'https://bedrock-runtime.{region}.amazonaws.com',
    apiKey: AKID,
    model: 'amazon.nova-pro-v1:0',
    stream: false,
    options: { region: 'us-east-1', secret_access_key: SECRET },
    ...overrides,
  };
}

/**
 * SigV4 computed independently from the AWS specification, to check the signer:
 * canonical request (non-S3 paths are URI-encoded a second time), string to sign,
 * then the HMAC chain date -> region -> service -> aws4_request.
 * @see https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 */
function referenceSignature(input: {
  method: string; url: string; headers: Record<string, string>; body: string; secret: string; region: string; amzDate: string;
  service?: string;
}): { signature: string; signedHeaders: string } {
  const service = input.service ?? 'bedrock';
  const url = new URL(input.url);
  const canonicalPath = url.pathname.split('/').map((segment) => encodeURIComponent(segment)).join('/');
  const names = Object.keys(input.headers).map((n) => n.toLowerCase()).sort();
  const lower = Object.fromEntries(Object.entries(input.headers).map(([k, v]) => [k.toLowerCase(), v.trim()]));
  const signedHeaders = names.join(';');
  const canonicalRequest = [
    input.method, canonicalPath, '',
    names.map((n) => `${n}:${lower[n]}\n`).join(''),
    signedHeaders,
    createHash('sha256').update(input.body).digest('hex'),
  ].join('\n');
  const date = input.amzDate.slice(0, 8);
  const scope = `${date}/${input.region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', input.amzDate, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
  const key = hmac(hmac(hmac(hmac(`AWS4${input.secret}`, date), input.region), service), 'aws4_request');
  return { signature: createHmac('sha256', key).update(stringToSign).digest('hex'), signedHeaders };
}

describe('the reference SigV4 used below', () => {
  it('reproduces the AWS test suite vector get-vanilla', () => {
    // @see https://docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html (get-vanilla)
    const { signature } = referenceSignature({
      method: 'GET', url: 'https://example.amazonaws.com/', body: '', service: 'service',
      secret: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', region: 'us-east-1', amzDate: '20150830T123600Z',
      headers: { host: 'example.amazonaws.com', 'x-amz-date': '20150830T123600Z' },
    });
    expect(signature).toBe('5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31');
  });
});

describe('bedrock provider endpoint', () => {
  it('builds Converse, ConverseStream and InvokeModel URLs with the model id encoded', () => {
    const chat = bedrockProvider.endpoint('chat', context());
    expect(chat).toEqual({
      url: 'https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.nova-pro-v1%3A0/converse',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
    });
    const stream = bedrockProvider.endpoint('chat', context({ stream: true, options: { region: 'eu-west-3' } }));
    expect(stream.url).toBe('https://bedrock-runtime.eu-west-3.amazonaws.com/model/amazon.nova-pro-v1%3A0/converse-stream');
    expect(stream.streamFraming).toBe('aws-eventstream');
    expect(stream.headers.accept).toBe('application/vnd.amazon.eventstream');
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-lite-v1:0';
    expect(bedrockProvider.endpoint('embeddings', context({ model: arn })).url)
      .toBe(`https://bedrock-runtime.us-east-1.amazonaws.com/model/${encodeURIComponent(arn)}/invoke`);
  });

  it('refuses operations Bedrock does not offer', () => {
    expect(() => bedrockProvider.endpoint('completions', context())).toThrow(
      expect.objectContaining({ code: 'HD_ERR_PROVIDER_UNSUPPORTED_OPERATION' }),
    );
  });

  it('resolves region and base URL from options, then the AWS environment', () => {
    expect(bedrockRegion({}, {})).toBe('us-east-1');
    expect(bedrockRegion({}, { AWS_DEFAULT_REGION: 'ap-south-1' })).toBe('ap-south-1');
    expect(bedrockRegion({}, { AWS_REGION: 'us-west-2', AWS_DEFAULT_REGION: 'ap-south-1' })).toBe('us-west-2');
    expect(bedrockRegion({ region: 'eu-central-1' }, { AWS_REGION: 'us-west-2' })).toBe('eu-central-1');
    expect(() => bedrockRegion({ region: 'evil.com/x' }, {})).toThrow(GatewayError);
    const base = { baseUrl: 'https://bedrock-runtime.{region}.amazonaws.com', options: {} };
    expect(bedrockBaseUrl(base, { AWS_REGION: 'us-west-2' })).toBe('https://bedrock-runtime.us-west-2.amazonaws.com');
    expect(bedrockBaseUrl(base, { AWS_ENDPOINT_URL_BEDROCK_RUNTIME: 'http://127.0.0.1:4566/' })).toBe('http://127.0.0.1:4566');
    expect(bedrockBaseUrl({ baseUrl: 'http://127.0.0.1:9000', options: {} }, { AWS_ENDPOINT_URL_BEDROCK_RUNTIME: 'http://x' })).toBe('http://127.0.0.1:9000');
  });

  it('declares the env variables, with the Bedrock API key first as in the AWS SDKs', () => {
    expect(bedrockProvider.apiKeyEnv).toEqual(['AWS_BEARER_TOKEN_BEDROCK', 'AWS_ACCESS_KEY_ID']);
    expect(bedrockProvider.baseUrlEnv).toBe('BEDROCK_BASE_URL');
    expect(bedrockProvider.format).toBe('bedrock');
    expect(bedrockProvider.models).toContain('amazon.nova-pro-v1:0');
    expect(bedrockProvider.embeddingModels).toContain('amazon.titan-embed-text-v2:0');
  });
});

describe('bedrock authentication', () => {
  it('tells access key ids from Bedrock API keys, and obeys options.auth', () => {
    expect(bedrockAuthMode('AKIAIOSFODNN7EXAMPLE', {})).toBe('sigv4');
    expect(bedrockAuthMode('ASIAIOSFODNN7EXAMPLE', {})).toBe('sigv4');
    expect(bedrockAuthMode('ABSKQmVkcm9ja0FQSUtleS1hYmNk+ZXhhbXBsZQ==', {})).toBe('bearer');
    expect(bedrockAuthMode('bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t', {})).toBe('bearer');
    expect(bedrockAuthMode('AKIAIOSFODNN7EXAMPLE', { auth: 'bearer' })).toBe('bearer');
  });

  it('sends a Bedrock API key as a Bearer header and does not sign', async () => {
    const ctx = context({ apiKey: 'ABSKQmVkcm9ja0FQSUtleS1hYmNk+ZXhhbXBsZQ==' });
    const endpoint = bedrockProvider.endpoint('chat', ctx);
    expect(endpoint.headers.authorization).toBe('Bearer ABSKQmVkcm9ja0FQSUtleS1hYmNk+ZXhhbXBsZQ==');
    expect(await bedrockProvider.authorize!({ method: 'POST', url: endpoint.url, headers: endpoint.headers, body: '{}', context: ctx })).toEqual({});
  });

  it('signs with SigV4: Authorization, x-amz-date and x-amz-content-sha256', async () => {
    const ctx = context();
    const endpoint = bedrockProvider.endpoint('chat', ctx);
    expect(endpoint.headers.authorization).toBeUndefined();
    const body = '{"messages":[{"role":"user","content":[{"text":"Hi"}]}]}';
    const headers = await bedrockProvider.authorize!({ method: 'POST', url: endpoint.url, headers: endpoint.headers, body, context: ctx });
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE00000000\/\d{8}\/us-east-1\/bedrock\/aws4_request, SignedHeaders=accept;content-type;host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
    );
    expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(headers['x-amz-content-sha256']).toBe(createHash('sha256').update(body).digest('hex'));
    expect(headers['x-amz-security-token']).toBeUndefined();
    expect(headers.host).toBeUndefined();
    expect(headers['content-type']).toBe('application/json');
  });

  it('matches an independently computed signature for a fixed date, session token included', async () => {
    const url = 'https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.nova-pro-v1%3A0/converse';
    const body = '{"messages":[]}';
    const headers = { 'content-type': 'application/json', accept: 'application/json' };
    const signed = await signBedrockRequest(
      { method: 'POST', url, headers, body },
      { accessKeyId: AKID, secretAccessKey: SECRET, sessionToken: 'FQoGZXIvYXdzEXAMPLETOKEN' },
      'us-east-1',
      new Date('2025-01-02T03:04:05Z'),
    );
    expect(signed['x-amz-date']).toBe('20250102T030405Z');
    expect(signed['x-amz-security-token']).toBe('FQoGZXIvYXdzEXAMPLETOKEN');
    const expected = referenceSignature({
      method: 'POST', url, body, secret: SECRET, region: 'us-east-1', amzDate: '20250102T030405Z',
      headers: {
        ...headers,
        host: 'bedrock-runtime.us-east-1.amazonaws.com',
        'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
        'x-amz-date': '20250102T030405Z',
        'x-amz-security-token': 'FQoGZXIvYXdzEXAMPLETOKEN',
      },
    });
    expect(signed.authorization).toBe(
      `AWS4-HMAC-SHA256 Credential=${AKID}/20250102/us-east-1/bedrock/aws4_request, SignedHeaders=${expected.signedHeaders}, Signature=${expected.signature}`,
    );
  });

  it('signs the host with its port for a local endpoint', async () => {
    const url = 'http://127.0.0.1:4566/model/m/converse';
    const signed = await signBedrockRequest({ method: 'POST', url, headers: {}, body: '' }, { accessKeyId: AKID, secretAccessKey: SECRET }, 'us-east-1', new Date('2025-01-02T03:04:05Z'));
    const expected = referenceSignature({
      method: 'POST', url, body: '', secret: SECRET, region: 'us-east-1', amzDate: '20250102T030405Z',
      headers: { host: '127.0.0.1:4566', 'x-amz-content-sha256': createHash('sha256').update('').digest('hex'), 'x-amz-date': '20250102T030405Z' },
    });
    expect(signed.authorization).toContain(`Signature=${expected.signature}`);
  });

  it('finds the secret and the session token, which belongs to the env key only', () => {
    const env = { AWS_ACCESS_KEY_ID: AKID, AWS_SECRET_ACCESS_KEY: 'env-secret', AWS_SESSION_TOKEN: 'env-token' };
    expect(bedrockCredentials(context({ options: {} }), env)).toEqual({ accessKeyId: AKID, secretAccessKey: 'env-secret', sessionToken: 'env-token' });
    expect(bedrockCredentials(context({ apiKey: 'AKIAOTHERKEY00000000', options: { secret_access_key: 's' } }), env))
      .toEqual({ accessKeyId: 'AKIAOTHERKEY00000000', secretAccessKey: 's' });
    expect(bedrockCredentials(context({ options: { secret_access_key: 's', session_token: 't' } }), {}))
      .toEqual({ accessKeyId: AKID, secretAccessKey: 's', sessionToken: 't' });
    expect(() => bedrockCredentials(context({ options: {} }), {})).toThrow(/AWS_SECRET_ACCESS_KEY/);
  });
});
