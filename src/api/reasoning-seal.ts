/**
 * The sealed `encrypted_content` of the reasoning items the Responses bridge
 * returns: a provider's thinking state (Anthropic thinking blocks and their
 * signatures, Gemini thought signatures) encrypted with AES-256-GCM under a
 * key derived from the gateway's encryption key (store/secret-box.ts), so the
 * client can hand it back on the next turn but never read or alter it.
 *
 * Format: `heimdall.r1.<v1:iv:tag:ciphertext>`; the plaintext is the JSON of the state.
 */
import type { ReasoningSeal, ReasoningState } from '../formats/responses/index.js';
import type { SecretBox } from '../store/secret-box.js';

const PREFIX = 'heimdall.r1.';
const KEY_LABEL = 'heimdall/responses-reasoning/v1';

function isState(value: unknown): value is ReasoningState {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const state = value as Record<string, unknown>;
  return (state.reasoning_content === undefined || typeof state.reasoning_content === 'string')
    && (state.reasoning_signature === undefined || typeof state.reasoning_signature === 'string')
    && (state.redacted_thinking === undefined || (Array.isArray(state.redacted_thinking) && state.redacted_thinking.every((item) => typeof item === 'string')));
}

export function reasoningSeal(master: SecretBox): ReasoningSeal {
  const box = master.derive(KEY_LABEL);
  return {
    seal(state: ReasoningState): string {
      return PREFIX + box.encrypt(JSON.stringify(state));
    },
    open(text: string): ReasoningState | undefined {
      if (!text.startsWith(PREFIX)) return undefined;
      try {
        const state = JSON.parse(box.decrypt(text.slice(PREFIX.length))) as unknown;
        return isState(state) ? state : undefined;
      } catch {
        return undefined; // another gateway's key, or altered
      }
    },
  };
}
