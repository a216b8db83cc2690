/**
 * PII redactor: email addresses, phone numbers and payment card numbers are replaced in
 * prompts before they leave the gateway, and in answers before they reach the caller
 * (whole answers and streams alike).
 *
 *   "plugins": [{ "path": "./examples/plugins/pii-redactor.mjs",
 *                 "options": { "kinds": ["email", "phone", "card"], "prompts": true, "answers": true } }]
 *
 * A card number is redacted only when its digits pass the Luhn check, so order numbers and
 * other long digit runs stay. In a stream the last `holdback` characters of each choice are
 * held until more text comes (a number or address split across chunks is redacted whole).
 * @param {{ kinds?: Array<'email' | 'phone' | 'card'>, prompts?: boolean, answers?: boolean, holdback?: number }} options
 * @returns {import('heimdall-gateway').Plugin}
 */
const PATTERNS = {
  email: { label: '[EMAIL]', pattern: /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g },
  card: { label: '[CARD]', pattern: /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g, check: luhn },
  phone: { label: '[PHONE]', pattern: /(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){2,3}(?![\w])/g, check: isPhone },
};

/** 9 to 15 digits (E.164), written as a phone number is: with a leading + or separators, not as one bare run. */
function isPhone(text) {
  const digits = text.replace(/\D/g, '').length;
  return digits >= 9 && digits <= 15 && /^\+|[ .()-]/.test(text);
}

function luhn(text) {
  const digits = text.replace(/\D/g, '');
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

export default function piiRedactor(options = {}) {
  const kinds = options.kinds ?? ['email', 'card', 'phone'];
  for (const kind of kinds) if (PATTERNS[kind] === undefined) throw new Error(`pii-redactor: unknown kind "${kind}" (email, phone, card)`);
  // Cards before phones: a card number is also a long digit run.
  const active = ['email', 'card', 'phone'].filter((kind) => kinds.includes(kind)).map((kind) => PATTERNS[kind]);
  const holdback = options.holdback ?? 64;
  const STATE = 'pii-redactor';

  /** Every match, as [start, end, label]. */
  function matches(text) {
    const found = [];
    for (const { label, pattern, check } of active) {
      for (const match of text.matchAll(pattern)) {
        const start = match.index;
        const end = start + match[0].length;
        if (check !== undefined && !check(match[0])) continue;
        if (found.some(([s, e]) => start < e && end > s)) continue;
        found.push([start, end, label]);
      }
    }
    return found.sort((a, b) => a[0] - b[0]);
  }

  function redact(text) {
    let out = '';
    let at = 0;
    for (const [start, end, label] of matches(text)) {
      out += text.slice(at, start) + label;
      at = end;
    }
    return out + text.slice(at);
  }

  /** Strings of a request or answer value, redacted: plain strings and text parts. */
  function redactContent(content) {
    if (typeof content === 'string') return redact(content);
    if (Array.isArray(content)) return content.map((part) => (part && part.type === 'text' && typeof part.text === 'string' ? { ...part, text: redact(part.text) } : typeof part === 'string' ? redact(part) : part));
    return content;
  }

  /** Emits what is safe of a choice's pending text: all of it at the end, else all but the held-back tail (never cutting a match). */
  function release(state, index, delta, final) {
    const text = (state.get(index) ?? '') + delta;
    let cut = final ? text.length : Math.max(0, text.length - holdback);
    for (const [start, end] of matches(text)) if (start < cut && end > cut) cut = start;
    state.set(index, text.slice(cut));
    return redact(text.slice(0, cut));
  }

  return {
    name: 'pii-redactor',
    beforeRouting(request, routing) {
      if (options.prompts === false) return;
      const body = request.canonical();
      if (body === undefined) return;
      if (Array.isArray(body.messages)) {
        routing.setRequest({ ...body, messages: body.messages.map((message) => (message.content === undefined ? message : { ...message, content: redactContent(message.content) })) });
      } else if (body.input !== undefined) {
        routing.setRequest({ ...body, input: redactContent(body.input) });
      }
    },
    streamEvent(request, chunk) {
      if (options.answers === false || chunk.choices.length === 0) return;
      let state = request.state.get(STATE);
      if (state === undefined) request.state.set(STATE, (state = new Map()));
      return {
        ...chunk,
        choices: chunk.choices.map((choice) => {
          const final = choice.finish_reason !== null && choice.finish_reason !== undefined;
          const content = typeof choice.delta.content === 'string' ? choice.delta.content : '';
          if (content === '' && !final) return choice;
          return { ...choice, delta: { ...choice.delta, content: release(state, choice.index, content, final) } };
        }),
      };
    },
    finalAnswer(request, answer) {
      if (options.answers === false || answer.stream) return;
      const response = answer.response();
      if (response === undefined || !Array.isArray(response.choices)) return;
      answer.replace({
        ...response,
        choices: response.choices.map((choice) => ({ ...choice, message: { ...choice.message, content: redactContent(choice.message.content) } })),
      });
    },
  };
}
