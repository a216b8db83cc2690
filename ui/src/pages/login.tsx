/** The sign-in screen shown when the gateway has an admin token (admin.token / HEIMDALL_ADMIN_TOKEN). */
import { useState, type FormEvent } from 'react';
import { auth } from '../api/endpoints.js';
import { Button, Field, errorMessage } from '../components/ui.js';
import { useTitle } from '../lib/router.js';

export function LoginPage({ onLogin }: { onLogin(): void }) {
  useTitle('Sign in');
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    if (token.trim() === '') {
      setError('Enter the admin token.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await auth.login(token.trim());
      onLogin();
    } catch (reason) {
      setError(errorMessage(reason));
      setBusy(false);
    }
  };

  return (
    <main className="login">
      <div className="card">
        <div className="brand">
          <img src="/favicon.svg" alt="" /> Heimdall
        </div>
        <h1 style={{ textAlign: 'center', fontSize: '1.15rem', marginBottom: 6 }}>Sign in to the dashboard</h1>
        <p className="muted" style={{ textAlign: 'center', marginBottom: 18 }}>
          Enter the gateway&apos;s admin token (<code>admin.token</code> in the config file or <code>HEIMDALL_ADMIN_TOKEN</code>).
        </p>
        <form className="form" onSubmit={(event) => void submit(event)} noValidate>
          <Field label="Admin token" htmlFor="token" error={error}>
            <input id="token" name="token" type="password" autoComplete="current-password" autoFocus value={token} onChange={(event) => setToken(event.target.value)} />
          </Field>
          <Button type="submit" variant="primary" busy={busy}>
            Sign in
          </Button>
        </form>
      </div>
    </main>
  );
}
