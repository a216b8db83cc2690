/**
 * The coding agents (Claude Code, Codex, Gemini CLI), each completing a turn
 * with a real tool round trip through the gateway to every upstream model
 * family. Skipped with CONFORMANCE_AGENTS=0.
 */
import type { IncomingMessage } from 'node:http';
import { describe } from 'vitest';
import { expectFileAnswer, makeWorkspace, runClaudeCode, runCodex, runGeminiCli, type AgentRun, type Workspace } from './coding-agents.js';
import { MODELS, useHarness } from './harness.js';

const CHECK = 'reads a file with its own tool, answers with its content';
const CELL_TIMEOUT_MS = 120_000;

const { recorder, harness } = useHarness(import.meta.filename);

async function inWorkspace(run: (workspace: Workspace) => Promise<AgentRun>): Promise<void> {
  const workspace = makeWorkspace();
  try {
    expectFileAnswer(await run(workspace), workspace);
  } finally {
    workspace.dispose();
  }
}

/** The same, over the Responses WebSocket mode: the agent opens a socket and never falls back to a POST per turn. */
async function overWebSocket(run: (workspace: Workspace) => Promise<AgentRun>): Promise<void> {
  const server = harness().gateway.app.server;
  let upgrades = 0;
  let posts = 0;
  const upgrade = (): void => {
    upgrades++;
  };
  const request = (incoming: IncomingMessage): void => {
    if (incoming.method === 'POST' && incoming.url?.startsWith('/v1/responses') === true) posts++;
  };
  server.on('upgrade', upgrade);
  server.on('request', request);
  try {
    await inWorkspace(run);
  } finally {
    server.off('upgrade', upgrade);
    server.off('request', request);
  }
  if (upgrades === 0) throw new Error('the agent answered without opening a WebSocket');
  if (posts > 0) throw new Error(`the agent fell back to HTTP (${posts} POST /v1/responses)`);
}

describe.skipIf(process.env.CONFORMANCE_AGENTS === '0')('coding agents', () => {
  const claude = { client: 'Claude Code 2.1 (claude -p)', surface: 'Anthropic /anthropic/v1/messages' };
  recorder.cell({ ...claude, model: '(default model)', check: CHECK }, () => inWorkspace((w) => runClaudeCode(harness(), w, undefined)), undefined, CELL_TIMEOUT_MS);
  for (const model of MODELS) {
    recorder.cell({ ...claude, model: model.id, check: CHECK }, () => inWorkspace((w) => runClaudeCode(harness(), w, model.id)), undefined, CELL_TIMEOUT_MS);
  }
  const codex = { client: 'Codex 0.171 (codex exec)', surface: 'OpenAI /v1/responses' };
  for (const model of MODELS) {
    recorder.cell({ ...codex, model: model.id, check: CHECK }, () => inWorkspace((w) => runCodex(harness(), w, model.id)), undefined, CELL_TIMEOUT_MS);
  }
  const codexSocket = { client: 'Codex 0.171 (codex exec, WebSocket mode)', surface: 'OpenAI /v1/responses (WebSocket)' };
  for (const model of MODELS) {
    recorder.cell({ ...codexSocket, model: model.id, check: CHECK }, () => overWebSocket((w) => runCodex(harness(), w, model.id, true)), undefined, CELL_TIMEOUT_MS);
  }
  const gemini = { client: 'Gemini CLI 0.61 (gemini -p)', surface: 'Gemini /genai' };
  for (const model of MODELS) {
    recorder.cell({ ...gemini, model: model.id, check: CHECK }, () => inWorkspace((w) => runGeminiCli(harness(), w, model.id)), undefined, CELL_TIMEOUT_MS);
  }
});
