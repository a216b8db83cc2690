import { describe, expect, it } from 'vitest';
import { HeaderForwarding, isNeverForwarded } from '../../src/providers/forward-headers.js';

describe('HeaderForwarding', () => {
  const client = {
    'anthropic-beta': 'b2, b3',
    'anthropic-version': '2023-06-01',
    'x-api-key': 'secret',
    authorization: 'Bearer secret',
    'x-team-id': 'blue',
    'x-team-secret': 'nope',
    'x-heimdall-key': 'secret',
    'x-trace': 'listed in connection',
    connection: 'keep-alive, x-trace',
    cookie: 'a=b',
  };

  it('forwards the defaults, joins list headers without repeats, replaces the rest', () => {
    const upstream: Record<string, string> = { 'anthropic-beta': 'b1,b2', 'anthropic-version': '2020-01-01', 'x-api-key': 'provider' };
    new HeaderForwarding(['anthropic-beta', 'anthropic-version']).apply(client, upstream);
    expect(upstream).toEqual({ 'anthropic-beta': 'b1,b2,b3', 'anthropic-version': '2023-06-01', 'x-api-key': 'provider' });
  });

  it('prefixes widen, deny narrows, and credentials, hop-by-hop and x-heimdall-* never pass', () => {
    const upstream: Record<string, string> = {};
    new HeaderForwarding(['anthropic-version'], ['x-*', 'authorization'], ['x-team-secret', 'anthropic-version']).apply(client, upstream);
    expect(upstream).toEqual({ 'x-team-id': 'blue' });
    const none: Record<string, string> = {};
    new HeaderForwarding(['anthropic-beta'], ['x-team-id'], ['*']).apply(client, none);
    expect(none).toEqual({});
  });

  it('names the headers no configuration may forward', () => {
    for (const name of ['Authorization', 'x-api-key', 'x-goog-api-key', 'api-key', 'cookie', 'connection', 'x-heimdall-key', 'proxy-authorization']) {
      expect(isNeverForwarded(name)).toBe(true);
    }
    expect(isNeverForwarded('anthropic-beta')).toBe(false);
  });
});

describe('HeaderForwarding.anthropicBetas (Claude served in another format, e.g. Bedrock)', () => {
  it('splits the caller\'s list (repeated headers too), without repeats; deny wins; none sent, none given', () => {
    const forwarding = new HeaderForwarding([]);
    expect(forwarding.anthropicBetas({ 'anthropic-beta': 'a-2025, b-2025 ,a-2025' })).toEqual(['a-2025', 'b-2025']);
    expect(forwarding.anthropicBetas({ 'anthropic-beta': ['a-2025', 'c-2025'] })).toEqual(['a-2025', 'c-2025']);
    expect(forwarding.anthropicBetas({})).toBeUndefined();
    expect(forwarding.anthropicBetas({ 'anthropic-beta': ' , ' })).toBeUndefined();
    expect(forwarding.anthropicBetas(undefined)).toBeUndefined();
    expect(new HeaderForwarding([], [], ['anthropic-*']).anthropicBetas({ 'anthropic-beta': 'a-2025' })).toBeUndefined();
  });
});
