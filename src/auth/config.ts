/** The resolved `auth` configuration: secrets read from the environment. */
import type { Role } from '../store/auth-store.js';
import type { AuthFile } from './config-schema.js';

export interface DeclaredUser {
  username: string;
  /** Resolved: a password, or an scrypt hash. */
  password: string | undefined;
  role: Role;
  team: string | null;
  view_bodies: boolean;
  display_name: string | null;
  email: string | null;
}

type OidcFile = NonNullable<AuthFile['oidc']>;
type GithubFile = NonNullable<AuthFile['github']>;

export interface AuthConfig {
  users: DeclaredUser[];
  lockout: { maxFailures: number; lockMs: number };
  oidc: (Omit<OidcFile, 'client_secret'> & { client_secret: string | undefined }) | undefined;
  github: GithubFile | undefined;
}

type ResolveSecret = (value: string, path: string, env: NodeJS.ProcessEnv) => string;

export function resolveAuth(file: AuthFile, env: NodeJS.ProcessEnv, resolveSecret: ResolveSecret): AuthConfig {
  return {
    users: file.users.map((user, index) => ({
      username: user.username,
      password: user.password === undefined ? undefined : resolveSecret(user.password, `auth.users[${index}].password`, env),
      role: user.role,
      team: user.team ?? null,
      view_bodies: user.view_bodies,
      display_name: user.display_name ?? null,
      email: user.email ?? null,
    })),
    lockout: { maxFailures: file.lockout.max_failures, lockMs: file.lockout.lock_minutes * 60_000 },
    oidc: file.oidc === undefined ? undefined : {
      ...file.oidc,
      client_secret: file.oidc.client_secret === undefined ? undefined : resolveSecret(file.oidc.client_secret, 'auth.oidc.client_secret', env),
    },
    github: file.github === undefined ? undefined : { ...file.github, client_secret: resolveSecret(file.github.client_secret, 'auth.github.client_secret', env) },
  };
}

/** The secrets of the section, for the log redaction list. */
export function authSecrets(config: AuthConfig | undefined): string[] {
  if (config === undefined) return [];
  const secrets: string[] = [];
  for (const user of config.users) if (user.password !== undefined) secrets.push(user.password);
  if (config.oidc?.client_secret !== undefined) secrets.push(config.oidc.client_secret);
  if (config.github !== undefined) secrets.push(config.github.client_secret);
  return secrets;
}
