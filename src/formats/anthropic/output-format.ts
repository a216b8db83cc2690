/**
 * OpenAI `response_format` -> Anthropic structured outputs
 * (`output_config.format: {type: "json_schema", schema}`), with the schema
 * fitted to the subset Anthropic accepts:
 * - every object gets `additionalProperties: false` (Anthropic requires it);
 * - numeric and string-length constraints (`minimum`, `maxLength`, ...),
 *   `minItems` above 1, `maxItems`, `uniqueItems` and string formats outside
 *   Anthropic's list are removed from the schema and written into its
 *   `description` instead, so the model still sees them; each removal is named
 *   in a warning.
 * `json_object` (JSON without a schema) has no Anthropic equivalent: dropped with a warning.
 *
 * @see https://docs.anthropic.com/en/docs/build-with-claude/structured-outputs#json-schema-limitations
 * @see https://platform.openai.com/docs/api-reference/chat/create#chat-create-response_format
 */
import type { ResponseFormat } from '../openai/types.js';
import type { CodecWarning } from '../types.js';

type JsonObject = Record<string, unknown>;

export interface AnthropicOutputFormat {
  type: 'json_schema';
  schema: JsonObject;
}

const UNSUPPORTED_KEYWORDS = new Set([
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minLength', 'maxLength', 'maxItems',
  'uniqueItems', 'minProperties', 'maxProperties', 'patternProperties', 'propertyNames', 'contains',
]);

const SUPPORTED_FORMATS = new Set(['date-time', 'time', 'date', 'duration', 'email', 'hostname', 'uri', 'ipv4', 'ipv6', 'uuid']);

/** Keywords whose value is one sub-schema, or a list or map of them. */
const SCHEMA_KEYS = new Set(['items', 'not', 'if', 'then', 'else']);
const SCHEMA_LIST_KEYS = new Set(['anyOf', 'allOf', 'oneOf', 'prefixItems']);
const SCHEMA_MAP_KEYS = new Set(['properties', '$defs', 'definitions']);

const MAX_DEPTH = 64;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isObjectSchema(node: JsonObject): boolean {
  return node.type === 'object' || (Array.isArray(node.type) && node.type.includes('object')) || isObject(node.properties);
}

/** The schema in Anthropic's subset; `removed` lists what was moved into descriptions. */
export function fitSchemaForAnthropic(schema: JsonObject): { schema: JsonObject; removed: string[] } {
  const removed = new Set<string>();
  const fitted = fitNode(schema, removed, 0);
  return { schema: isObject(fitted) ? fitted : {}, removed: [...removed].sort() };
}

function fitNode(node: unknown, removed: Set<string>, depth: number): unknown {
  if (!isObject(node) || depth > MAX_DEPTH) return node;
  const out: JsonObject = {};
  const notes: string[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (SCHEMA_KEYS.has(key)) out[key] = fitNode(value, removed, depth + 1);
    else if (SCHEMA_LIST_KEYS.has(key) && Array.isArray(value)) out[key] = value.map((item) => fitNode(item, removed, depth + 1));
    else if (SCHEMA_MAP_KEYS.has(key) && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, fitNode(sub, removed, depth + 1)]));
    } else if (UNSUPPORTED_KEYWORDS.has(key) || (key === 'minItems' && typeof value === 'number' && value > 1)) {
      removed.add(key);
      notes.push(`${key}: ${JSON.stringify(value)}`);
    } else if (key === 'format' && typeof value === 'string' && !SUPPORTED_FORMATS.has(value)) {
      removed.add(`format:${value}`);
      notes.push(`format: ${value}`);
    } else if (key === 'additionalProperties' && value !== false) {
      removed.add('additionalProperties');
    } else out[key] = value;
  }
  if (isObjectSchema(out)) out.additionalProperties = false;
  if (notes.length > 0) {
    const description = typeof out.description === 'string' && out.description !== '' ? `${out.description}\n\n` : '';
    out.description = `${description}{${notes.join(', ')}}`;
  }
  return out;
}

/** response_format -> output_config.format, or undefined (text, or dropped with a warning). */
export function encodeOutputFormat(format: ResponseFormat | undefined | null, warnings: CodecWarning[]): AnthropicOutputFormat | undefined {
  if (!isObject(format) || format.type === 'text') return undefined;
  if (format.type === 'json_schema') {
    const schema = isObject(format.json_schema) ? format.json_schema.schema : undefined;
    if (!isObject(schema)) {
      warnings.push({ param: 'response_format.json_schema.schema', message: 'A json_schema response_format needs a schema object for Anthropic structured outputs; it was dropped.' });
      return undefined;
    }
    const fitted = fitSchemaForAnthropic(schema);
    if (fitted.removed.length > 0) {
      warnings.push({
        param: 'response_format.json_schema.schema',
        message: `Anthropic structured outputs do not take these JSON-schema keywords; they were removed (constraints are written into the descriptions): ${fitted.removed.join(', ')}.`,
      });
    }
    return { type: 'json_schema', schema: fitted.schema };
  }
  warnings.push({
    param: 'response_format',
    message: `response_format '${String(format.type)}' (JSON without a schema) has no Anthropic equivalent; it was dropped (send a json_schema for Anthropic structured outputs).`,
  });
  return undefined;
}
