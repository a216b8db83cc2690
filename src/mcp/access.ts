/**
 * MCP allow-lists of a virtual key and of its team: a server is usable when
 * both lists that are set name it (patterns, "*" wildcards), a tool when both
 * lists that are set name its namespaced name (`github__create_issue`,
 * `github__*`). No key (a gateway without required keys): everything.
 */
import { compilePatterns, type PatternSet } from '../governance/patterns.js';
import type { KeyState } from '../governance/registry.js';
import type { McpAccess } from '../governance/types.js';

interface Compiled {
  servers: PatternSet | undefined;
  tools: PatternSet | undefined;
}

/** Records are replaced on every change, so a cache keyed by the record never goes stale. */
const compiled = new WeakMap<McpAccess, Compiled>();

function compile(record: McpAccess): Compiled {
  let found = compiled.get(record);
  if (found === undefined) {
    found = {
      servers: record.allowed_mcp_servers == null ? undefined : compilePatterns(record.allowed_mcp_servers),
      tools: record.allowed_mcp_tools == null ? undefined : compilePatterns(record.allowed_mcp_tools),
    };
    compiled.set(record, found);
  }
  return found;
}

function levels(key: KeyState): Compiled[] {
  const out = [compile(key.record)];
  if (key.team !== undefined) out.push(compile(key.team));
  return out;
}

export function mayUseServer(key: KeyState | undefined, server: string): boolean {
  if (key === undefined) return true;
  return levels(key).every((level) => level.servers === undefined || level.servers.matches(server));
}

export function mayUseTool(key: KeyState | undefined, server: string, namespaced: string): boolean {
  if (key === undefined) return true;
  return levels(key).every((level) => (level.servers === undefined || level.servers.matches(server)) && (level.tools === undefined || level.tools.matches(namespaced)));
}
