/**
 * The order plugins run in: each plugin's `after` and `before` lists, and
 * nothing else. Among plugins the declarations leave free, the given order
 * holds (built-ins first, then the configured ones as listed). A name that is
 * not loaded is ignored; a cycle is an error naming the plugins in it.
 */
export interface Ordered {
  readonly name: string;
  readonly after?: readonly string[];
  readonly before?: readonly string[];
}

export function orderPlugins<P extends Ordered>(plugins: readonly P[]): P[] {
  const index = new Map<string, number>();
  plugins.forEach((plugin, i) => {
    if (index.has(plugin.name)) throw new Error(`Two plugins are named "${plugin.name}": plugin names must be unique.`);
    index.set(plugin.name, i);
  });
  // edges[i]: the plugins that must run after plugin i.
  const edges: number[][] = plugins.map(() => []);
  const incoming = new Array<number>(plugins.length).fill(0);
  const edge = (from: number, to: number): void => {
    edges[from].push(to);
    incoming[to]++;
  };
  plugins.forEach((plugin, i) => {
    for (const name of plugin.after ?? []) {
      const j = index.get(name);
      if (j !== undefined && j !== i) edge(j, i);
    }
    for (const name of plugin.before ?? []) {
      const j = index.get(name);
      if (j !== undefined && j !== i) edge(i, j);
    }
  });
  const out: P[] = [];
  const done = new Array<boolean>(plugins.length).fill(false);
  // Kahn's algorithm, always taking the first ready plugin in the given order (stable).
  while (out.length < plugins.length) {
    let next = -1;
    for (let i = 0; i < plugins.length; i++) {
      if (!done[i] && incoming[i] === 0) {
        next = i;
        break;
      }
    }
    if (next === -1) {
      const stuck = plugins.filter((_plugin, i) => !done[i]).map((plugin) => plugin.name);
      throw new Error(`The plugins ${stuck.join(', ')} declare a cycle in their "after"/"before" order.`);
    }
    done[next] = true;
    out.push(plugins[next]);
    for (const to of edges[next]) incoming[to]--;
  }
  return out;
}
