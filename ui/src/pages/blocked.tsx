/** Shown when the management API will not answer this browser: no admin token and not on loopback, or a refused host name. */
import { CodeBlock } from '../components/ui.js';
import { useTitle } from '../lib/router.js';

export function BlockedPage({ message }: { message: string | null }) {
  useTitle('Not available here');
  const port = window.location.port === '' ? '8080' : window.location.port;
  return (
    <main className="login">
      <div className="card" style={{ width: 'min(560px, 100%)' }}>
        <div className="brand">
          <img src="/favicon.svg" alt="" /> Heimdall
        </div>
        <h1 style={{ fontSize: '1.15rem', marginBottom: 8 }}>The dashboard is not open to this address</h1>
        <p className="muted">
          {message ??
            'This gateway has no admin token, so its management API (and this dashboard) answers only on the machine it runs on, at http://127.0.0.1 or http://localhost.'}
        </p>
        <p style={{ marginTop: 12 }}>Either open it through an SSH tunnel from your machine:</p>
        <CodeBlock code={`ssh -L ${port}:127.0.0.1:${port} <gateway-host>\n# then open http://127.0.0.1:${port}`} label="shell" />
        <p style={{ marginTop: 12 }}>
          or start the gateway with an admin token (<code>HEIMDALL_ADMIN_TOKEN</code>, or <code>admin.token</code> in the config file) and sign in with it.
        </p>
      </div>
    </main>
  );
}
