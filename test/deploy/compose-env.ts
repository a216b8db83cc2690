/** What compose does to a service's environment before a container sees it, for the deploy tests. */

/** A compose value with its `${NAME:?message}` / `${NAME:-default}` references replaced as compose does. */
export function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::([?-])([^}]*))?\}/g, (_match, name: string, kind: string | undefined, rest: string) => {
    const given = env[name];
    if (given !== undefined && given !== '') return given;
    if (kind === '?') throw new Error(`${name}: ${rest}`);
    return kind === '-' ? rest : '';
  });
}
