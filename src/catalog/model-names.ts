/**
 * The names a provider's model id is looked up under, most specific first:
 * `models/gemini-2.5-pro` (Gemini), `claude-sonnet-4-5@20250929` (Vertex),
 * `us.anthropic.claude-sonnet-4-5-20250929-v1:0` (Bedrock),
 * `claude-sonnet-4-5-20250929` (dated), `openai/gpt-4o-mini` (a router's id).
 */

const DATE_SUFFIX = /-(\d{4}-\d{2}-\d{2}|\d{8})$/;
const REGION_PREFIX = /^(us|eu|apac|global|us-gov|jp|au)\./;
const BEDROCK_VENDOR = /^(anthropic|amazon|meta|mistral|cohere|deepseek|ai21|openai|qwen|writer|stability)\./;
const BEDROCK_VERSION = /-v\d+(:\d+)?$/;

export interface ModelNames {
  /** Every candidate, lower-cased, most specific first, without repeats. */
  all: readonly string[];
  /** The bare name: no region, vendor prefix, version, `models/` or `@version` (rules match it). */
  bare: string;
  /** A router's vendor (`openai` in `openai/gpt-4o-mini`), or undefined. */
  vendor: string | undefined;
}

export function modelNames(model: string): ModelNames {
  const raw = model.trim().toLowerCase();
  const names: string[] = [raw];
  const add = (name: string): void => {
    if (name !== '' && !names.includes(name)) names.push(name);
  };
  let name = raw.startsWith('models/') ? raw.slice(7) : raw;
  let vendor: string | undefined;
  const slash = name.lastIndexOf('/');
  if (slash > 0) {
    vendor = name.slice(0, name.indexOf('/'));
    add(name);
    name = name.slice(slash + 1);
  }
  const at = name.indexOf('@');
  if (at > 0) name = name.slice(0, at);
  add(name);
  name = name.replace(REGION_PREFIX, '');
  add(name);
  const bedrock = BEDROCK_VENDOR.exec(name);
  if (bedrock !== null) {
    vendor ??= bedrock[1];
    name = name.slice(bedrock[0].length).replace(BEDROCK_VERSION, '');
    add(name);
  }
  // A date suffix (claude-sonnet-4-5-20250929, gpt-4o-2024-08-06); kept when the name would be empty.
  const undated = name.replace(DATE_SUFFIX, '');
  const bare = /^[a-z]/.test(undated) && undated.length > 2 ? undated : name;
  add(bare);
  return { all: names, bare, vendor };
}
