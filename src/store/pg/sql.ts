/** Statements written with named parameters (@name), as the SQLite stores write them, for Postgres ($n). */
export function positional(sql: string, values: Record<string, unknown>): { text: string; values: unknown[] } {
  const order: string[] = [];
  const text = sql.replace(/@([a-z_][a-z0-9_]*)/gi, (_, name: string) => {
    if (!(name in values)) throw new Error(`no value for @${name}`);
    let index = order.indexOf(name);
    if (index === -1) index = order.push(name) - 1;
    return `$${index + 1}`;
  });
  return { text, values: order.map((name) => values[name]) };
}
