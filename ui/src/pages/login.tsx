/**
 * The sign-in screen: username and password (users exist), the admin token (HEIMDALL_ADMIN_TOKEN
 * or admin.token), single sign-on buttons, and the first admin's creation with the setup token.
 */
import { useState } from 'react';
import { auth } from '../api/endpoints.js';
import type { AuthStatus } from '../api/types.js';
import { Button, Field } from '../components/ui.js';
import { useSubmit } from '../lib/use-submit.js';
import { useTitle } from '../lib/router.js';

function Brand() {
  return (
    <div className="brand">
      <img src="/favicon.svg" alt="" /> Heimdall
    </div>
  );
}

/** An error the identity provider or the callback sent back (?sso_error=...). */
function ssoError(): string | null {
  return new URLSearchParams(window.location.search).get('sso_error');
}

export function LoginPage({ status, onLogin }: { status: AuthStatus | null; onLogin(): void }) {
  useTitle('Sign in');
  const passwords = status?.password_login === true;
  const [mode, setMode] = useState<'password' | 'token'>(passwords || status?.token_login !== true ? 'password' : 'token');
  const [username, setUsername] = useState('');
  const [secret, setSecret] = useState('');
  const [ssoFailure] = useState(ssoError);
  const { busy, error, setError, onSubmit } = useSubmit(async () => {
    if (secret.trim() === '' || (mode === 'password' && username.trim() === '')) {
      throw new Error(mode === 'token' ? 'Enter the admin token.' : 'Enter your username and password.');
    }
    if (mode === 'token') await auth.login(secret.trim());
    else await auth.loginPassword(username.trim(), secret);
    onLogin();
  }, { keepBusy: true });

  const sso = status?.sso;
  return (
    <main className="login">
      <div className="card">
        <Brand />
        <h1 style={{ textAlign: 'center', fontSize: '1.15rem', marginBottom: 6 }}>Sign in to the dashboard</h1>
        <p className="muted" style={{ textAlign: 'center', marginBottom: 18 }}>
          {mode === 'token' ? (
            <>
              Enter the gateway&apos;s admin token (<code>admin.token</code> in the config file or <code>HEIMDALL_ADMIN_TOKEN</code>).
            </>
          ) : (
            'Sign in with your Heimdall account.'
          )}
        </p>
        {sso?.oidc || sso?.github ? (
          <div className="form" style={{ marginBottom: 16 }}>
            {sso.oidc ? (
              <a className="btn btn-primary" href="/api/auth/oidc/login">
                Sign in with {sso.oidc}
              </a>
            ) : null}
            {sso.github ? (
              <a className="btn" href="/api/auth/github/login">
                Sign in with GitHub
              </a>
            ) : null}
          </div>
        ) : null}
        <form className="form" onSubmit={onSubmit} noValidate>
          {mode === 'password' ? (
            <Field label="Username" htmlFor="username">
              <input id="username" name="username" autoComplete="username" autoFocus value={username} onChange={(event) => setUsername(event.target.value)} />
            </Field>
          ) : null}
          <Field label={mode === 'token' ? 'Admin token' : 'Password'} htmlFor="secret" error={error ?? ssoFailure}>
            <input id="secret" name="secret" type="password" autoComplete="current-password" autoFocus={mode === 'token'} value={secret} onChange={(event) => setSecret(event.target.value)} />
          </Field>
          <Button type="submit" variant={sso?.oidc ? 'secondary' : 'primary'} busy={busy}>
            Sign in
          </Button>
          {passwords && status?.token_login ? (
            <button type="button" className="btn btn-ghost btn-sm" onClick={() => { setMode(mode === 'token' ? 'password' : 'token'); setError(null); setSecret(''); }}>
              {mode === 'token' ? 'Sign in with a username instead' : 'Use the admin token instead'}
            </button>
          ) : null}
        </form>
      </div>
    </main>
  );
}

/** No user and no admin token yet: create the first admin with the setup token the gateway printed at start. */
export function SetupPage({ onDone }: { onDone(): void }) {
  useTitle('Create the first admin');
  const [setupToken, setSetupToken] = useState('');
  const [username, setUsername] = useState('admin');
  const [password, setPassword] = useState('');
  const { busy, error, onSubmit } = useSubmit(async () => {
    await auth.setup({ setup_token: setupToken.trim(), username: username.trim(), password });
    onDone();
  }, { keepBusy: true });

  return (
    <main className="login">
      <div className="card">
        <Brand />
        <h1 style={{ textAlign: 'center', fontSize: '1.15rem', marginBottom: 6 }}>Create the first admin</h1>
        <p className="muted" style={{ textAlign: 'center', marginBottom: 18 }}>
          Enter the setup token the gateway printed when it started (<code>Setup token</code> in its banner), then choose the admin&apos;s username and password.
        </p>
        <form className="form" onSubmit={onSubmit} noValidate>
          <Field label="Setup token" htmlFor="setup-token">
            <input id="setup-token" autoComplete="off" autoFocus value={setupToken} onChange={(event) => setSetupToken(event.target.value)} />
          </Field>
          <Field label="Username" htmlFor="setup-username">
            <input id="setup-username" autoComplete="username" value={username} onChange={(event) => setUsername(event.target.value)} />
          </Field>
          <Field label="Password" htmlFor="setup-password" hint="At least 10 characters." error={error}>
            <input id="setup-password" type="password" autoComplete="new-password" value={password} onChange={(event) => setPassword(event.target.value)} />
          </Field>
          <Button type="submit" variant="primary" busy={busy}>
            Create the admin and sign in
          </Button>
        </form>
      </div>
    </main>
  );
}
