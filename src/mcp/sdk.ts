/**
 * The MCP SDK, loaded at first use (sdk-values.ts): the first /mcp request, the first upstream
 * server's connection or an OAuth authorization waits for it once; a gateway that never uses MCP
 * never loads it.
 */
export type McpSdk = typeof import('./sdk-values.js');

let loaded: McpSdk | undefined;
let loading: Promise<McpSdk> | undefined;

export function loadMcpSdk(): Promise<McpSdk> {
  loading ??= import('./sdk-values.js').then(
    (sdk) => (loaded = sdk),
    (error: unknown) => {
      loading = undefined;
      throw error;
    },
  );
  return loading;
}

/** The SDK if something loaded it already (an error can only be the SDK's if it is). */
export function loadedMcpSdk(): McpSdk | undefined {
  return loaded;
}
