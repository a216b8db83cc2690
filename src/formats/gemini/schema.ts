/**
 * JSON Schema <-> the OpenAPI 3.0 schema subset that Gemini's `parameters`
 * and `responseSchema` accept. Gemini answers 400 on any key outside the
 * subset, so the encoder keeps only those keys and reports what it removed.
 *
 * @see https://ai.google.dev/api/caching#Schema
 * @see https://ai.google.dev/gemini-api/docs/structured-output#json-schemas
 */

type JsonObject = Record<string, unknown>;

/** Keys of the Gemini `Schema` message (genai.d.ts `Schema`). */
const ALLOWED_KEYS = new Set([
  'anyOf', 'default', 'description', 'enum', 'example', 'format', 'items', 'maxItems', 'maxLength',
  'maxProperties', 'maximum', 'minItems', 'minLength', 'minProperties', 'minimum', 'nullable',
  'pattern', 'properties', 'propertyOrdering', 'required', 'title', 'type',
]);

/** `format` values Gemini accepts, by type; any other format is a 400. */
const ALLOWED_FORMATS: Readonly<Record<string, ReadonlySet<string>>> = {
  string: new Set(['enum', 'date-time']),
  integer: new Set(['int32', 'int64']),
  number: new Set(['float', 'double']),
};

const MAX_DEPTH = 64;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export interface CleanedSchema {
  schema: JsonObject;
  /** Keys removed (sorted, unique), `format:uri` style for rejected formats. */
  removed: string[];
}

/**
 * JSON Schema -> Gemini schema. Local `$ref`s (`#/$defs/X`, `#/definitions/X`)
 * are inlined (a recursive reference is removed), `oneOf` becomes `anyOf`,
 * `const` becomes a one-value `enum`, `type: [T, "null"]` becomes
 * `type: T, nullable: true`.
 */
export function cleanSchemaForGemini(schema: JsonObject): CleanedSchema {
  const removed = new Set<string>();
  const defs = { ...(isObject(schema.definitions) ? schema.definitions : {}), ...(isObject(schema.$defs) ? schema.$defs : {}) };
  const cleaned = cleanNode(schema, defs, removed, [], 0);
  return { schema: isObject(cleaned) ? cleaned : {}, removed: [...removed].sort() };
}

function resolveRef(ref: string, defs: JsonObject): JsonObject | undefined {
  const match = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(ref);
  if (match === null) return undefined;
  const target = defs[decodeURIComponent(match[1].replace(/~1/g, '/').replace(/~0/g, '~'))];
  return isObject(target) ? target : undefined;
}

function cleanNode(node: unknown, defs: JsonObject, removed: Set<string>, refs: string[], depth: number): unknown {
  if (!isObject(node)) return node;
  if (depth > MAX_DEPTH) {
    removed.add('(nesting deeper than 64)');
    return {};
  }
  if (typeof node.$ref === 'string') {
    const ref = node.$ref;
    const target = refs.includes(ref) ? undefined : resolveRef(ref, defs);
    if (target === undefined) {
      removed.add('$ref');
      const { $ref: _ignored, ...siblings } = node;
      return cleanNode(siblings, defs, removed, refs, depth + 1);
    }
    const { $ref: _ignored, ...siblings } = node;
    return cleanNode({ ...target, ...siblings }, defs, removed, [...refs, ref], depth + 1);
  }

  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    switch (key) {
      case '$defs': case 'definitions':
        break; // inlined where referenced
      case 'type':
        applyType(out, value);
        break;
      case 'const':
        out.enum = [value];
        break;
      case 'oneOf': case 'anyOf':
        if (Array.isArray(value)) out.anyOf = value.map((v) => cleanNode(v, defs, removed, refs, depth + 1));
        break;
      case 'properties':
        if (isObject(value)) {
          const properties: JsonObject = {};
          for (const [name, sub] of Object.entries(value)) properties[name] = cleanNode(sub, defs, removed, refs, depth + 1);
          out.properties = properties;
        }
        break;
      case 'items':
        if (Array.isArray(value)) removed.add('items (tuple form)');
        else out.items = cleanNode(value, defs, removed, refs, depth + 1);
        break;
      case 'format':
        out.format = value;
        break;
      default:
        if (ALLOWED_KEYS.has(key)) out[key] = value;
        else removed.add(key);
    }
  }
  if (out.format !== undefined) {
    const allowed = typeof out.type === 'string' ? ALLOWED_FORMATS[out.type.toLowerCase()] : undefined;
    if (allowed === undefined || typeof out.format !== 'string' || !allowed.has(out.format)) {
      removed.add(`format:${String(out.format)}`);
      delete out.format;
    }
  }
  return out;
}

function applyType(out: JsonObject, value: unknown): void {
  if (!Array.isArray(value)) {
    out.type = value;
    return;
  }
  const types = value.filter((t) => t !== 'null');
  if (types.length < value.length) out.nullable = true;
  if (types.length === 1) out.type = types[0];
  else if (types.length > 1) out.anyOf = types.map((t) => ({ type: t }));
}

/**
 * Gemini (OpenAPI subset) schema -> JSON Schema, for routing a Gemini
 * caller's `parameters`/`responseSchema` to providers that take JSON Schema:
 * upper-case types (`OBJECT`) become lower-case, `nullable` becomes a type
 * union with "null", `propertyOrdering` (Gemini-only) is dropped.
 */
export function geminiSchemaToJsonSchema(node: unknown, depth = 0): unknown {
  if (Array.isArray(node)) return node.map((item) => geminiSchemaToJsonSchema(item, depth + 1));
  if (!isObject(node) || depth > MAX_DEPTH) return node;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    switch (key) {
      case 'type':
        out.type = typeof value === 'string' ? value.toLowerCase() : value;
        break;
      case 'nullable': case 'propertyOrdering':
        break;
      case 'properties':
        if (isObject(value)) {
          const properties: JsonObject = {};
          for (const [name, sub] of Object.entries(value)) properties[name] = geminiSchemaToJsonSchema(sub, depth + 1);
          out.properties = properties;
        }
        break;
      case 'items': case 'anyOf':
        out[key] = geminiSchemaToJsonSchema(value, depth + 1);
        break;
      default:
        out[key] = value;
    }
  }
  if (node.nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    else if (Array.isArray(out.anyOf)) out.anyOf = [...out.anyOf, { type: 'null' }];
  }
  return out;
}
