import { describe, expect, it } from 'vitest';
import { cleanSchemaForGemini, geminiSchemaToJsonSchema } from '../../../src/formats/gemini/index.js';

describe('cleanSchemaForGemini', () => {
  it('inlines local $refs, turns oneOf into anyOf and multi-type unions into anyOf', () => {
    const { schema, removed } = cleanSchemaForGemini({
      type: 'object',
      properties: {
        a: { $ref: '#/definitions/A' },
        b: { oneOf: [{ type: 'string' }, { type: 'integer', format: 'int64' }] },
        c: { type: ['string', 'number'] },
      },
      definitions: { A: { type: 'number', format: 'double', description: 'an A' } },
    });
    expect(schema).toEqual({
      type: 'object',
      properties: {
        a: { type: 'number', format: 'double', description: 'an A' },
        b: { anyOf: [{ type: 'string' }, { type: 'integer', format: 'int64' }] },
        c: { anyOf: [{ type: 'string' }, { type: 'number' }] },
      },
    });
    expect(removed).toEqual([]);
  });

  it('cuts a recursive $ref instead of looping, and reports it', () => {
    const { schema, removed } = cleanSchemaForGemini({
      $ref: '#/$defs/node',
      $defs: { node: { type: 'object', properties: { child: { $ref: '#/$defs/node' } } } },
    });
    expect(schema).toEqual({ type: 'object', properties: { child: {} } });
    expect(removed).toEqual(['$ref']);
  });
});

describe('geminiSchemaToJsonSchema', () => {
  it('lower-cases types, turns nullable into a null union and drops propertyOrdering', () => {
    expect(geminiSchemaToJsonSchema({
      type: 'OBJECT',
      propertyOrdering: ['name', 'tags'],
      properties: { name: { type: 'STRING', nullable: true }, tags: { type: 'ARRAY', items: { type: 'STRING', enum: ['a', 'b'] } } },
    })).toEqual({
      type: 'object',
      properties: { name: { type: ['string', 'null'] }, tags: { type: 'array', items: { type: 'string', enum: ['a', 'b'] } } },
    });
  });
});
