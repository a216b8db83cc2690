/** The `auth` section of the config file: users, password lockout, single sign-on (docs/auth.md). */
import { z } from 'zod';

const secret = z
  .string()
  .min(1)
  .describe('A secret, written inline or as "env.NAME" to read it from the environment variable NAME.');

export const roleSchema = z.enum(['admin', 'operator', 'viewer', 'member']);

const fileUserSchema = z
  .strictObject({
    username: z.string().min(1).max(100).regex(/^[\w.@+-]+$/, 'letters, digits and . _ @ + - only').describe('The name to sign in with.'),
    password: secret
      .optional()
      .describe('The password ("env.NAME" to read it from the environment), or its scrypt hash from `heimdall users hash`. Without one the user signs in through single sign-on only.'),
    role: roleSchema.describe('admin: everything; operator: providers, routing, keys (no users or settings); viewer: read-only; member: their team\'s keys, usage and logs.'),
    team: z.string().min(1).optional().describe('A member\'s team (name or id of a team).'),
    view_bodies: z.boolean().default(false).describe('Let a viewer or member read the request and response bodies of logged requests.'),
    display_name: z.string().max(200).optional().describe('Shown in the dashboard.'),
    email: z.string().max(320).optional().describe('Contact address; also matches a single-sign-on account with the same email.'),
  })
  .describe('A dashboard and management API user kept in step with the config file.');

const roleMapSchema = z
  .record(z.string().min(1), roleSchema)
  .describe('Claim value (a group name) -> role. A user in several mapped groups gets the strongest role.');

const teamMapSchema = z
  .record(z.string().min(1), z.string().min(1))
  .describe('Claim value (a group name) -> team (name or id). The first mapped group a user is in gives their team.');

const oidcSchema = z
  .strictObject({
    issuer: z.string().url().describe('The issuer URL; its /.well-known/openid-configuration is read at start (discovery).'),
    client_id: z.string().min(1).describe('The client (application) id registered with the provider.'),
    client_secret: secret.optional().describe('The client secret ("env.NAME"); omit for a public client (PKCE only).'),
    name: z.string().min(1).max(60).default('single sign-on').describe('The provider\'s name on the dashboard\'s sign-in button.'),
    scopes: z.array(z.string().min(1)).default(['openid', 'profile', 'email']).describe('Scopes asked for; add "groups" (or your provider\'s) when the role claim needs it.'),
    redirect_url: z.string().url().optional().describe('The callback URL registered with the provider (https://HOST/api/auth/oidc/callback). Default: built from the request\'s host.'),
    username_claim: z.string().min(1).default('preferred_username').describe('The claim that names the user (falls back to email, then sub).'),
    role_claim: z.string().min(1).default('groups').describe('The claim (a string or a list) whose values role_map maps to roles. A dotted path reads a nested claim (realm_access.roles).'),
    role_map: roleMapSchema.default({}),
    team_claim: z.string().min(1).optional().describe('The claim whose values team_map maps to a team. Default: role_claim.'),
    team_map: teamMapSchema.default({}),
    default_role: roleSchema
      .nullable()
      .default('viewer')
      .describe('Role of a user created on first sign-in (just-in-time) when no mapped group matches; null refuses such users.'),
    allowed_domains: z.array(z.string().min(1)).optional().describe('Only accept users whose email is in one of these domains (Google Workspace: your domain).'),
    end_session: z.boolean().default(true).describe('Signing out also ends the session at the provider (RP-initiated logout) when it supports it.'),
  })
  .describe('Single sign-on with OpenID Connect: Google, Entra ID, Okta, Keycloak, Auth0... by discovery.');

const githubSchema = z
  .strictObject({
    client_id: z.string().min(1).describe('The OAuth app\'s client id.'),
    client_secret: secret.describe('The OAuth app\'s client secret ("env.NAME").'),
    redirect_url: z.string().url().optional().describe('The callback URL set in the OAuth app (https://HOST/api/auth/github/callback). Default: built from the request\'s host.'),
    allowed_orgs: z.array(z.string().min(1)).optional().describe('Only members of these organisations may sign in.'),
    role_map: roleMapSchema.default({}).describe('"org" or "org/team-slug" -> role; the strongest match wins.'),
    team_map: teamMapSchema.default({}).describe('"org/team-slug" -> Heimdall team (name or id).'),
    default_role: roleSchema.nullable().default('viewer').describe('Role of a user created on first sign-in when nothing in role_map matches; null refuses them.'),
    base_url: z.string().url().default('https://github.com').describe('GitHub Enterprise Server: its web URL.'),
    api_url: z.string().url().default('https://api.github.com').describe('GitHub Enterprise Server: its API URL (https://HOST/api/v3).'),
  })
  .describe('Single sign-on with a GitHub OAuth app.');

export const authSchema = z
  .strictObject({
    users: z.array(fileUserSchema).default([]).describe('Users declared here are created at start and kept as written (change them in the file).'),
    lockout: z
      .strictObject({
        max_failures: z.number().int().min(1).max(100).default(5).describe('Wrong passwords in a row that lock an account.'),
        lock_minutes: z.number().positive().max(24 * 60).default(15).describe('How long a locked account refuses password sign-in.'),
      })
      .prefault({})
      .describe('Password sign-in lockout.'),
    oidc: oidcSchema.optional(),
    github: githubSchema.optional(),
  })
  .describe('Users, roles and single sign-on for the dashboard and the management API (docs/auth.md).');

export type AuthFile = z.infer<typeof authSchema>;
