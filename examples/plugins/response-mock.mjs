/**
 * Response mock, for tests and demos: answers chat and embeddings requests itself, with no
 * provider call, streamed when the caller streams, in the caller's format (OpenAI, Anthropic,
 * Gemini, Responses API).
 *
 *   "plugins": [{ "path": "./examples/plugins/response-mock.mjs",
 *                 "options": { "reply": "Hello from the mock", "only_with_header": "x-mock" } }]
 *
 * `reply` is the answer's text ("{last_user_message}" in it is replaced by the caller's last
 * message); without `only_with_header` every request is answered. Embeddings get a fixed-size
 * vector derived from each input's text (`dimensions`, default 8).
 * @param {{ reply?: string, only_with_header?: string, model?: string, dimensions?: number }} options
 * @returns {import('heimdall-gateway').Plugin}
 */
export default function responseMock(options = {}) {
  const template = options.reply ?? 'This is a mock answer to: {last_user_message}';
  const header = options.only_with_header?.toLowerCase();
  const dimensions = options.dimensions ?? 8;

  function lastUserText(messages) {
    for (let i = (messages ?? []).length - 1; i >= 0; i--) {
      const message = messages[i];
      if (message.role !== 'user') continue;
      if (typeof message.content === 'string') return message.content;
      if (Array.isArray(message.content)) return message.content.filter((part) => part.type === 'text').map((part) => part.text).join(' ');
    }
    return '';
  }

  function vector(text) {
    const values = new Array(dimensions).fill(0);
    for (let i = 0; i < text.length; i++) values[i % dimensions] += text.charCodeAt(i) / 1000;
    return values.map((value) => Math.round(value * 1e6) / 1e6);
  }

  const words = (text) => (text.trim() === '' ? 0 : text.trim().split(/\s+/).length);

  return {
    name: 'response-mock',
    beforeRouting(request) {
      if (header !== undefined && request.headers[header] === undefined) return;
      const body = request.canonical();
      // Native pass-through and media routes forward bytes: nothing to mock there.
      if (body === undefined) return;
      const model = options.model ?? request.model ?? 'mock';
      const created = Math.floor(Date.now() / 1000);
      if (request.operation === 'embeddings') {
        const inputs = Array.isArray(body.input) ? body.input : [body.input];
        const texts = inputs.map((input) => (typeof input === 'string' ? input : JSON.stringify(input)));
        const tokens = texts.reduce((sum, text) => sum + words(text), 0);
        return { response: { object: 'list', model, data: texts.map((text, index) => ({ object: 'embedding', index, embedding: vector(text) })), usage: { prompt_tokens: tokens, total_tokens: tokens } } };
      }
      const question = lastUserText(body?.messages);
      const content = template.replaceAll('{last_user_message}', question);
      const usage = { prompt_tokens: words(question), completion_tokens: words(content), total_tokens: words(question) + words(content) };
      const id = `chatcmpl-mock-${request.id}`;
      if (!request.stream) {
        return { response: { id, object: 'chat.completion', created, model, choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }], usage } };
      }
      return {
        stream: (async function* () {
          const base = { id, object: 'chat.completion.chunk', created, model };
          const pieces = content.split(/(?<=\s)/);
          for (const piece of pieces) yield { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: piece }, finish_reason: null }] };
          yield { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] };
          yield { ...base, choices: [], usage };
        })(),
      };
    },
  };
}
