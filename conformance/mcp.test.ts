/**
 * Claude Code as a real MCP client of Heimdall: `claude mcp add --transport http heimdall
 * <gateway>/mcp` with a virtual key header, then a `claude -p` turn in which the model (the mock's
 * scripted turn) calls a tool that Claude Code reaches through Heimdall's /mcp, served by
 * `@modelcontextprotocol/server-everything` over stdio behind it. Skipped with CONFORMANCE_AGENTS=0.
 */
import { describe } from 'vitest';
import { EVERYTHING } from '../test/mcp/support.js';
import { baseEnv, claudeEnv, claudeBinary, makeWorkspace, runAgent, summarizeOutput } from './coding-agents.js';
import { expectContains, MODELS, SCRIPT_MARKER, useHarness } from './harness.js';

const KEY = 'hk-conformance-claude-code-mcp-1';
const CHECK = 'calls an MCP tool through Heimdall\'s /mcp (streamable HTTP)';
const TOOL = 'mcp__heimdall__everything__echo';

const { recorder, harness } = useHarness(import.meta.filename, {
  governance: { virtual_keys: { 'claude-code': { key: KEY } } },
  // One tool exposed: the scripted model calls the first tool it is given.
  mcp: { servers: { everything: { transport: 'stdio', command: process.execPath, args: [EVERYTHING, 'stdio'], tools: ['echo'] } } },
});

async function mcpTurn(model: string): Promise<void> {
  const h = harness();
  const start = Date.now();
  while (h.gateway.app.mcp.hub.server('everything')?.status !== 'ready') {
    if (Date.now() - start > 30_000) throw new Error('server-everything did not connect');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const workspace = makeWorkspace();
  try {
    // Tool search off: with it, Claude Code declares a placeholder instead of the MCP tools to models it does not know.
    const env = { ...baseEnv(workspace), ...claudeEnv(h, workspace, model), ENABLE_TOOL_SEARCH: 'false' };
    const options = { cwd: workspace.cwd, env, timeoutMs: 60_000 };
    const added = await runAgent(process.execPath, [claudeBinary(), 'mcp', 'add', '--transport', 'http', 'heimdall', `${h.url}/mcp`, '--header', `Authorization: Bearer ${KEY}`], options);
    if (added.code !== 0) throw new Error(`claude mcp add failed: ${summarizeOutput(added.stderr + added.stdout)}`);
    const run = await runAgent(process.execPath, [
      claudeBinary(), '-p', `${SCRIPT_MARKER}: echo a word with the tool`, '--tools', '', '--allowedTools', TOOL, '--max-turns', '4', '--output-format', 'text',
    ], { ...options, timeoutMs: 90_000 });
    const output = `stdout: ${summarizeOutput(run.stdout)}; stderr: ${summarizeOutput(run.stderr)}`;
    if (run.timedOut || run.code !== 0) throw new Error(`claude -p: ${run.timedOut ? 'timed out' : `exit code ${String(run.code)}`}; ${output}`);
    // The echo's text reaches the answer only through the tool call, and Heimdall logged that call.
    expectContains(run.stdout, 'Echo: ', `final answer (${output})`);
    const calls = h.gateway.app.mcp.store!.calls({ server: 'everything', tool: 'echo', limit: 10 });
    if (!calls.some((call) => call.origin === 'mcp' && call.virtual_key_id === 'vk_file_claude-code' && call.time >= start && call.error === null)) {
      throw new Error('Heimdall logged no successful everything__echo call from the Claude Code key');
    }
  } finally {
    workspace.dispose();
  }
}

describe.skipIf(process.env.CONFORMANCE_AGENTS === '0')('Claude Code through the MCP gateway', () => {
  const cell = { client: 'Claude Code 2.1 (claude mcp add --transport http; claude -p)', surface: 'MCP /mcp (streamable HTTP)' };
  for (const model of [MODELS[0], MODELS[2], MODELS[3]]) {
    recorder.cell({ ...cell, model: model.id, check: CHECK }, () => mcpTurn(model.id), undefined, 150_000);
  }
});
