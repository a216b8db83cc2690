/**
 * Every upstream MCP server Heimdall knows (the config file's and the
 * store's), kept connected, and their tools, prompts and resources under
 * namespaced names: tool and prompt `github__create_issue`, resource
 * `github+repo://x/y`, resource template `github+repo://{owner}/{name}` (the server name and "+" before the upstream URI).
 * A new configuration restarts only the servers whose definition changed.
 */
import type { Prompt, Resource, ResourceTemplate, Tool } from '@modelcontextprotocol/sdk/types.js';
import { compilePatterns, type PatternSet } from '../governance/patterns.js';
import { registerSecrets } from '../telemetry/secrets.js';
import type { McpConfig, McpServerConfig } from './config.js';
import type { OAuthTokenStore } from './oauth.js';
import { UpstreamServer, type UpstreamEvents } from './upstream.js';

export const TOOL_SEPARATOR = '__';
export const RESOURCE_SEPARATOR = '+';

export interface NamespacedTool {
  server: UpstreamServer;
  /** `<server>__<tool>`. */
  name: string;
  tool: Tool;
}

export interface NamespacedPrompt {
  server: UpstreamServer;
  name: string;
  prompt: Prompt;
}

export interface NamespacedResource {
  server: UpstreamServer;
  uri: string;
  resource: Resource;
}

export interface NamespacedResourceTemplate {
  server: UpstreamServer;
  uriTemplate: string;
  template: ResourceTemplate;
}

export interface HubLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
}

/** Splits `<server>__<rest>` at the first separator (server names hold no "__"). */
export function splitNamespaced(name: string, separator = TOOL_SEPARATOR): { server: string; name: string } | undefined {
  const at = name.indexOf(separator);
  if (at <= 0 || at + separator.length >= name.length) return undefined;
  return { server: name.slice(0, at), name: name.slice(at + separator.length) };
}

interface Entry {
  server: UpstreamServer;
  signature: string;
  exposed: PatternSet | undefined;
}

export class McpHub {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<(server: UpstreamServer) => void>();
  private config: McpConfig;
  private closed = false;

  constructor(
    config: McpConfig,
    private readonly logger: HubLogger,
    private readonly tokens: OAuthTokenStore | undefined,
    private readonly pingIntervalMs = 30_000,
  ) {
    this.config = config;
  }

  /** Called when a server's lists or status change (sessions send list_changed). */
  onChange(listener: (server: UpstreamServer) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get settings(): McpConfig {
    return this.config;
  }

  /**
   * Applies the configuration: the file's servers and the store's (`extra`). Servers whose definition
   * is unchanged keep their connection; the others are stopped, started or restarted.
   */
  apply(config: McpConfig, extra: readonly McpServerConfig[] = []): void {
    if (this.closed) return;
    this.config = config;
    const wanted = new Map<string, McpServerConfig>();
    if (config.enabled) {
      for (const server of [...config.servers, ...extra]) if (!wanted.has(server.name)) wanted.set(server.name, server);
    }
    for (const [name, entry] of this.entries) {
      const next = wanted.get(name);
      if (next === undefined || signatureOf(next, config) !== entry.signature) {
        this.entries.delete(name);
        void entry.server.stop();
        this.emit(entry.server);
      }
    }
    for (const server of wanted.values()) {
      if (this.entries.has(server.name)) continue;
      registerSecrets([...Object.values(server.headers), ...Object.values(server.env), server.oauth?.clientSecret]);
      const events: UpstreamEvents = {
        changed: (changed) => this.emit(changed),
        log: (level, object, message) => this.logger[level](object, message),
      };
      const upstream = new UpstreamServer(server, {
        connectTimeoutMs: config.connectTimeoutMs,
        restartMinMs: config.restartMinMs,
        restartMaxMs: config.restartMaxMs,
        pingIntervalMs: this.pingIntervalMs,
      }, events, this.tokens);
      this.entries.set(server.name, { server: upstream, signature: signatureOf(server, config), exposed: server.tools === undefined ? undefined : compilePatterns(server.tools) });
      upstream.start();
    }
  }

  private emit(server: UpstreamServer): void {
    for (const listener of this.listeners) listener(server);
  }

  servers(): UpstreamServer[] {
    return [...this.entries.values()].map((entry) => entry.server);
  }

  server(name: string): UpstreamServer | undefined {
    return this.entries.get(name)?.server;
  }

  /** The tools a server exposes (its `tools` patterns applied). */
  toolsOf(server: UpstreamServer): Tool[] {
    const exposed = this.entries.get(server.name)?.exposed;
    return exposed === undefined ? server.tools : server.tools.filter((tool) => exposed.matches(tool.name));
  }

  tools(): NamespacedTool[] {
    const out: NamespacedTool[] = [];
    for (const { server } of this.entries.values()) {
      if (server.status !== 'ready') continue;
      for (const tool of this.toolsOf(server)) out.push({ server, name: `${server.name}${TOOL_SEPARATOR}${tool.name}`, tool });
    }
    return out;
  }

  tool(namespaced: string): NamespacedTool | undefined {
    const parts = splitNamespaced(namespaced);
    if (parts === undefined) return undefined;
    const server = this.entries.get(parts.server)?.server;
    if (server === undefined) return undefined;
    const tool = this.toolsOf(server).find((candidate) => candidate.name === parts.name);
    return tool === undefined ? undefined : { server, name: namespaced, tool };
  }

  prompts(): NamespacedPrompt[] {
    const out: NamespacedPrompt[] = [];
    for (const { server } of this.entries.values()) {
      if (server.status !== 'ready') continue;
      for (const prompt of server.prompts) out.push({ server, name: `${server.name}${TOOL_SEPARATOR}${prompt.name}`, prompt });
    }
    return out;
  }

  resources(): NamespacedResource[] {
    const out: NamespacedResource[] = [];
    for (const { server } of this.entries.values()) {
      if (server.status !== 'ready') continue;
      for (const resource of server.resources) out.push({ server, uri: `${server.name}${RESOURCE_SEPARATOR}${resource.uri}`, resource });
    }
    return out;
  }

  /** Templates as `<server>+<template>`: a URI expanded from one reads through resource(). */
  resourceTemplates(): NamespacedResourceTemplate[] {
    const out: NamespacedResourceTemplate[] = [];
    for (const { server } of this.entries.values()) {
      if (server.status !== 'ready') continue;
      for (const template of server.resourceTemplates) out.push({ server, uriTemplate: `${server.name}${RESOURCE_SEPARATOR}${template.uriTemplate}`, template });
    }
    return out;
  }

  /** The server and its own URI of a namespaced resource URI. */
  resource(uri: string): { server: UpstreamServer; uri: string } | undefined {
    const parts = splitNamespaced(uri, RESOURCE_SEPARATOR);
    if (parts === undefined) return undefined;
    const server = this.entries.get(parts.server)?.server;
    return server === undefined ? undefined : { server, uri: parts.name };
  }

  /** Tool timeout of a server. */
  toolTimeoutMs(server: UpstreamServer): number {
    return server.config.toolTimeoutMs ?? this.config.toolTimeoutMs;
  }

  /** Stops every server (stdio processes end). */
  async close(): Promise<void> {
    this.closed = true;
    const servers = this.servers();
    this.entries.clear();
    await Promise.all(servers.map((server) => server.stop()));
  }
}

/** What makes a server's connection: a change to any of it reconnects. */
function signatureOf(server: McpServerConfig, config: McpConfig): string {
  return JSON.stringify([server, config.connectTimeoutMs, config.restartMinMs, config.restartMaxMs]);
}
