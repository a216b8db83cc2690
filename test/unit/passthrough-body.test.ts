import { describe, expect, it } from 'vitest';
import { editPassthroughBody, findMembers } from '../../src/api/passthrough-body.js';

const edit = (text: string, model: string, dropFallbacks = false, addUsage = false) => editPassthroughBody(text, { model, dropFallbacks, addUsage });

describe('pass-through body edits', () => {
  it('replaces only the model value and keeps every other byte', () => {
    const text = '{ "model" : "openai/gpt-4o-mini",\n "messages":[{"role":"user","content":"é \\"model\\": x"}], "x_unknown": {"a":[1,2]} }';
    const out = edit(text, 'gpt-4o-mini')!;
    expect(out).toBe('{ "model" : "gpt-4o-mini",\n "messages":[{"role":"user","content":"é \\"model\\": x"}], "x_unknown": {"a":[1,2]} }');
    expect(JSON.parse(out)).toEqual({ ...JSON.parse(text), model: 'gpt-4o-mini' });
  });

  it('returns the text itself when nothing changes', () => {
    const text = '{"messages":[],"model":"gpt-4o"}';
    expect(edit(text, 'gpt-4o')).toBe(text);
  });

  it('cuts fallbacks wherever it stands', () => {
    const cases = [
      '{"fallbacks":["a/b","c/d"],"model":"x","messages":[]}',
      '{"model":"x","fallbacks":["a/b"],"messages":[]}',
      '{"model":"x","messages":[], "fallbacks" : [ "a/b" ] }',
    ];
    for (const text of cases) {
      const out = edit(text, 'y', true)!;
      expect(JSON.parse(out)).toEqual({ model: 'y', messages: [] });
    }
  });

  it('adds stream_options when the body has none, refuses to guess when it has some', () => {
    const out = edit('{"model":"x","stream":true}', 'y', false, true)!;
    expect(JSON.parse(out)).toEqual({ model: 'y', stream: true, stream_options: { include_usage: true } });
    expect(edit('{"model":"x","stream":true,"stream_options":{}}', 'y', false, true)).toBeUndefined();
  });

  it('gives up on duplicate or escaped keys and missing models', () => {
    expect(edit('{"model":"a","messages":[],"model":"b"}', 'y')).toBeUndefined();
    expect(edit('{"mod\\u0065l":"a"}', 'y')).toBeUndefined();
    expect(edit('{"messages":[]}', 'y')).toBeUndefined();
    expect(edit('{"model":"x","fallbacks":[],"fallbacks":["z"]}', 'y', true)).toBeUndefined();
  });

  it('a "model" key inside a value is not the top-level one', () => {
    const text = '{"tools":[{"function":{"parameters":{"model":{"type":"string"}}}}],"model":"x"}';
    expect(JSON.parse(edit(text, 'y')!)).toEqual({ ...JSON.parse(text), model: 'y' });
    expect(findMembers(text, ['model'])!.get('model')!.valueStart).toBe(text.lastIndexOf('"x"'));
  });

  it('handles strings ending in escaped backslashes', () => {
    const text = '{"messages":[{"content":"a\\\\"}],"model":"x"}';
    expect(JSON.parse(edit(text, 'y')!)).toEqual({ messages: [{ content: 'a\\' }], model: 'y' });
  });
});

describe('pass-through body edits: the model value as JSON.stringify writes it', () => {
  it('keeps a model value that is already written as JSON.stringify writes it', () => {
    const plain = '{"model":"gpt-4o","messages":[]}';
    expect(edit(plain, 'gpt-4o')).toBe(plain);
    const quoted = '{"model":"a\\"b","messages":[]}';
    expect(edit(quoted, 'a"b')).toBe(quoted);
  });

  it('rewrites a value that means the model but is written otherwise', () => {
    expect(edit('{"model":"gpt\\/4o","messages":[]}', 'gpt/4o')).toBe('{"model":"gpt/4o","messages":[]}');
    expect(edit('{"model":"\\u0067pt","messages":[]}', 'gpt')).toBe('{"model":"gpt","messages":[]}');
    // A lone surrogate in the text (never from UTF-8 bytes, possible in a string): written escaped.
    expect(edit('{"model":"x\ud800","messages":[]}', 'x\ud800')).toBe('{"model":"x\\ud800","messages":[]}');
  });

  it('compares the whole value, not a prefix', () => {
    expect(edit('{"model":"gpt-4o-mini","messages":[]}', 'gpt-4o')).toBe('{"model":"gpt-4o","messages":[]}');
    expect(edit('{"model":"gpt-4o","messages":[]}', 'gpt-4o-mini')).toBe('{"model":"gpt-4o-mini","messages":[]}');
    expect(edit('{"model":null,"messages":[]}', 'null')).toBe('{"model":"null","messages":[]}');
  });
});
