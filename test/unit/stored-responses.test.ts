/** The pure parts of stored responses: input items as they are kept and listed, a pass-through body's id. */
import { describe, expect, it } from 'vitest';
import { listInputItems } from '../../src/api/stored-response-routes.js';
import { inputItems, responseIdOfBody } from '../../src/api/stored-responses.js';

describe('inputItems', () => {
  it('text becomes a user message with an input_text part and an id derived from the response', () => {
    expect(inputItems('hi', 'resp_abc')).toEqual([{ id: 'msg_abc_in0', type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] }]);
  });

  it('keeps ids and unknown fields, gives each kind its prefix, assistant text as output_text', () => {
    const items = inputItems([
      { role: 'assistant', content: 'before' },
      { type: 'function_call_output', call_id: 'call_1', output: 'sunny' },
      { type: 'function_call', id: 'fc_given', call_id: 'call_2', name: 'f', arguments: '{}', extra: 1 },
    ], 'resp_x');
    expect(items).toEqual([
      { id: 'msg_x_in0', type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'before' }] },
      { id: 'fco_x_in1', type: 'function_call_output', call_id: 'call_1', output: 'sunny' },
      { id: 'fc_given', type: 'function_call', call_id: 'call_2', name: 'f', arguments: '{}', extra: 1 },
    ]);
  });
});

describe('listInputItems', () => {
  const items = Array.from({ length: 5 }, (_, i) => ({ id: `i${i}` }));

  it('newest first by default, 20 a page', () => {
    expect(listInputItems(items, {})).toEqual({ object: 'list', data: [...items].reverse(), first_id: 'i4', last_id: 'i0', has_more: false });
  });

  it('limit and after walk the pages in either order', () => {
    expect(listInputItems(items, { order: 'asc', limit: '2' })).toMatchObject({ first_id: 'i0', last_id: 'i1', has_more: true });
    expect(listInputItems(items, { order: 'asc', limit: '2', after: 'i3' })).toMatchObject({ data: [{ id: 'i4' }], has_more: false });
    expect(listInputItems(items, { limit: '2', after: 'i3' })).toMatchObject({ first_id: 'i2', last_id: 'i1', has_more: true });
    expect(listInputItems([], {})).toEqual({ object: 'list', data: [], first_id: null, last_id: null, has_more: false });
  });

  it('refuses a bad limit, order or cursor, naming it', () => {
    for (const [query, param] of [[{ limit: '0' }, 'limit'], [{ limit: '101' }, 'limit'], [{ order: 'up' }, 'order'], [{ after: 'nope' }, 'after']] as const) {
      expect(() => listInputItems(items, query)).toThrow(expect.objectContaining({ param }));
    }
  });
});

describe('responseIdOfBody', () => {
  it('reads the first id of a response body, parsing only when it must', () => {
    expect(responseIdOfBody(Buffer.from('{"id":"resp_1","object":"response","output":[{"id":"msg_1"}]}'))).toBe('resp_1');
    expect(responseIdOfBody(Buffer.from(`{"object":"response","output":[],"pad":"${'x'.repeat(300)}","id":"resp_2"}`))).toBe('resp_2');
    expect(responseIdOfBody(Buffer.from('not json'))).toBeUndefined();
  });
});
