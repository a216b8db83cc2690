/**
 * Each wire format's request -> the facts a scripted turn needs
 * (scripted-turn.ts): every text, the tool results of the last turn, the
 * declared tools with their schemas, the tool choice and the schema of a
 * structured-output request.
 *
 * @see https://platform.openai.com/docs/api-reference/chat/create
 * @see https://platform.openai.com/docs/api-reference/responses/create
 * @see https://docs.anthropic.com/en/api/messages
 * @see https://ai.google.dev/api/generate-content
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
 */
import type { EchoToolChoice } from './echo-plan.js';
import { contentText, isRecord } from './openai-common.js';
import type { ScriptRequest, ScriptTool } from './scripted-turn.js';

type Json = Record<string, unknown>;

function records(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  const text = contentText(value);
  return text !== '' ? text : JSON.stringify(value ?? null);
}

function openaiChoice(choice: unknown): EchoToolChoice | undefined {
  if (choice === 'none' || choice === 'required' || choice === 'auto') return choice;
  if (!isRecord(choice)) return undefined;
  if (isRecord(choice.function) && typeof choice.function.name === 'string') return { name: choice.function.name };
  return typeof choice.name === 'string' ? { name: choice.name } : undefined;
}

/** POST /v1/chat/completions */
export function chatScriptRequest(body: Json): ScriptRequest {
  const messages = records(body.messages);
  const promptTexts = messages.map((message) => contentText(message.content));
  const toolResults: string[] = [];
  for (let i = messages.length - 1; i >= 0 && messages[i].role === 'tool'; i--) toolResults.unshift(asText(messages[i].content));
  const tools: ScriptTool[] = records(body.tools).filter((tool) => isRecord(tool.function)).map((tool) => {
    const fn = tool.function as Json;
    return { name: String(fn.name), parameters: fn.parameters };
  });
  const format = isRecord(body.response_format) ? body.response_format : undefined;
  const responseSchema = format?.type === 'json_schema' && isRecord(format.json_schema) ? format.json_schema.schema : undefined;
  return { promptTexts, toolResults, tools, toolChoice: openaiChoice(body.tool_choice), responseSchema };
}

/** POST /v1/responses */
export function responsesScriptRequest(body: Json): ScriptRequest {
  const items = typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : records(body.input);
  const promptTexts = items.map((item) => contentText(item.content));
  if (typeof body.instructions === 'string') promptTexts.unshift(body.instructions);
  const toolResults: string[] = [];
  for (let i = items.length - 1; i >= 0 && /_output$/.test(String(items[i].type)); i--) toolResults.unshift(asText(items[i].output));
  const tools: ScriptTool[] = records(body.tools)
    .filter((tool) => tool.type === 'function' || tool.type === 'local_shell')
    .map((tool) => ({ name: String(tool.name ?? tool.type), parameters: tool.parameters }));
  const text = isRecord(body.text) && isRecord(body.text.format) ? body.text.format : undefined;
  const responseSchema = text?.type === 'json_schema' ? text.schema : undefined;
  return { promptTexts, toolResults, tools, toolChoice: openaiChoice(body.tool_choice), responseSchema };
}

/** POST /v1/messages (Anthropic) */
export function anthropicScriptRequest(body: Json): ScriptRequest {
  const messages = records(body.messages);
  const blocks = (content: unknown): Json[] => (typeof content === 'string' ? [{ type: 'text', text: content }] : records(content));
  const promptTexts = [...blocks(body.system), ...messages.flatMap((message) => blocks(message.content))]
    .filter((block) => block.type === 'text')
    .map((block) => String(block.text));
  const last = messages[messages.length - 1];
  const toolResults = last?.role === 'user'
    ? blocks(last.content).filter((block) => block.type === 'tool_result').map((block) => asText(block.content))
    : [];
  const tools = records(body.tools)
    .filter((tool) => tool.type === undefined || tool.type === 'custom')
    .map((tool) => ({ name: String(tool.name), parameters: tool.input_schema }));
  const choice = isRecord(body.tool_choice) ? body.tool_choice : undefined;
  let toolChoice: EchoToolChoice | undefined;
  if (choice?.type === 'none') toolChoice = 'none';
  else if (choice?.type === 'any') toolChoice = 'required';
  else if (choice?.type === 'tool' && typeof choice.name === 'string') toolChoice = { name: choice.name };
  const format = isRecord(body.output_config) && isRecord(body.output_config.format) ? body.output_config.format : undefined;
  const legacy = isRecord(body.output_format) ? body.output_format : undefined;
  const schema = (format ?? legacy)?.type === 'json_schema' ? (format ?? legacy)?.schema : undefined;
  return { promptTexts, toolResults, tools, toolChoice, responseSchema: schema };
}

/** generateContent / streamGenerateContent (Gemini) */
export function geminiScriptRequest(body: Json): ScriptRequest {
  const contents = records(body.contents);
  const parts = (content: unknown): Json[] => (isRecord(content) ? records(content.parts) : []);
  const system = typeof body.systemInstruction === 'string' ? [{ text: body.systemInstruction }] : parts(body.systemInstruction);
  const promptTexts = [...system, ...contents.flatMap(parts)]
    .filter((part) => typeof part.text === 'string' && part.thought !== true)
    .map((part) => String(part.text));
  const last = contents[contents.length - 1];
  const toolResults = last !== undefined && last.role !== 'model'
    ? parts(last).filter((part) => isRecord(part.functionResponse)).map((part) => asText((part.functionResponse as Json).response))
    : [];
  const tools: ScriptTool[] = records(body.tools).flatMap((tool) =>
    records(tool.functionDeclarations).map((declaration) => ({
      name: String(declaration.name),
      parameters: declaration.parametersJsonSchema ?? declaration.parameters,
    })));
  const config = isRecord(body.toolConfig) && isRecord(body.toolConfig.functionCallingConfig) ? body.toolConfig.functionCallingConfig : undefined;
  const allowed = Array.isArray(config?.allowedFunctionNames) ? config.allowedFunctionNames : [];
  let toolChoice: EchoToolChoice | undefined;
  if (config?.mode === 'NONE') toolChoice = 'none';
  else if (config?.mode === 'ANY') toolChoice = allowed.length === 1 ? { name: String(allowed[0]) } : 'required';
  const generation = isRecord(body.generationConfig) ? body.generationConfig : {};
  const responseSchema = generation.responseJsonSchema ?? generation.responseSchema;
  return { promptTexts, toolResults, tools, toolChoice, responseSchema };
}

/** POST /model/{id}/converse and converse-stream (Bedrock) */
export function bedrockScriptRequest(body: Json): ScriptRequest {
  const messages = records(body.messages);
  const promptTexts = [...records(body.system), ...messages.flatMap((message) => records(message.content))]
    .filter((block) => typeof block.text === 'string')
    .map((block) => String(block.text));
  const last = messages[messages.length - 1];
  const toolResults = last?.role === 'user'
    ? records(last.content).filter((block) => isRecord(block.toolResult)).map((block) => asText((block.toolResult as Json).content))
    : [];
  const config = isRecord(body.toolConfig) ? body.toolConfig : {};
  const tools: ScriptTool[] = records(config.tools).filter((tool) => isRecord(tool.toolSpec)).map((tool) => {
    const spec = tool.toolSpec as Json;
    return { name: String(spec.name), parameters: isRecord(spec.inputSchema) ? spec.inputSchema.json : undefined };
  });
  const choice = isRecord(config.toolChoice) ? config.toolChoice : {};
  let toolChoice: EchoToolChoice | undefined;
  if (isRecord(choice.any)) toolChoice = 'required';
  else if (isRecord(choice.tool) && typeof choice.tool.name === 'string') toolChoice = { name: choice.tool.name };
  const format = isRecord(body.outputConfig) && isRecord(body.outputConfig.textFormat) ? body.outputConfig.textFormat : undefined;
  const jsonSchema = isRecord(format?.structure) && isRecord(format.structure.jsonSchema) ? format.structure.jsonSchema : undefined;
  let responseSchema: unknown;
  if (typeof jsonSchema?.schema === 'string') {
    try {
      responseSchema = JSON.parse(jsonSchema.schema);
    } catch {
      responseSchema = undefined;
    }
  }
  return { promptTexts, toolResults, tools, toolChoice, responseSchema };
}
