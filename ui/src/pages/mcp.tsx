/**
 * MCP servers (GET /api/mcp/servers, at /mcp-servers: /mcp is the MCP endpoint): each upstream server with its health
 * (connected, failed and when it retries, stdio pid and restarts, stderr) and
 * the tools it exposes under their namespaced names; add a server, reconnect
 * one, remove one added here, connect one that uses OAuth authorization code
 * (the browser goes to its authorization server and comes back) or forget its tokens; the latest tool calls (GET /api/mcp/calls).
 * @see ../../../docs/mcp.md
 */
import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../api/client.js';
import { toast } from '../components/toast.js';
import { Badge, Button, Card, EmptyState, ErrorState, Field, Loading, PageHeader, errorMessage } from '../components/ui.js';
import { formatDateTime, formatInteger, formatMs, formatRelative, formatUsd } from '../lib/format.js';
import { useTitle } from '../lib/router.js';
import { useResource } from '../lib/use-resource.js';

interface McpHealth {
  status: 'connecting' | 'ready' | 'failed' | 'stopped' | 'disabled';
  error: string | null;
  connected_at: number | null;
  failures: number;
  restarts: number;
  next_retry_at: number | null;
  pid: number | null;
  server_info: { name: string; version: string } | null;
  stderr: string[];
}

interface McpServerView {
  name: string;
  transport: 'http' | 'sse' | 'stdio';
  source: 'file' | 'store';
  enabled: boolean;
  description: string | null;
  url: string | null;
  command: string | null;
  args: string[];
  header_names: string[];
  env_names: string[];
  price_per_call: number;
  oauth: McpOAuthView | null;
  health: McpHealth | null;
  tools: Array<{ name: string; namespaced: string; title: string | null; description: string | null }>;
  prompts: Array<{ name: string }>;
  resources: Array<{ uri: string }>;
}

interface McpOAuthView {
  grant: 'client_credentials' | 'authorization_code';
  client_id: string | null;
  scope: string | null;
  connected: boolean;
  expires_at: number | null;
  refreshable: boolean;
}

interface McpCall {
  id: number;
  time: number;
  server: string;
  tool: string;
  origin: string;
  virtual_key_id: string | null;
  duration_ms: number;
  result_bytes: number;
  is_error: boolean;
  error: string | null;
  cost_usd: number | null;
}

const STATUS_TONE = { ready: 'ok', connecting: 'info', failed: 'error', stopped: 'neutral', disabled: 'neutral' } as const;

function StatusBadge({ health }: { health: McpHealth | null }) {
  if (health === null) return <Badge tone="neutral">disabled</Badge>;
  const retry = health.status === 'failed' && health.next_retry_at !== null ? `; retrying ${formatRelative(health.next_retry_at)}` : '';
  return (
    <Badge tone={STATUS_TONE[health.status]} title={health.error === null ? undefined : `${health.error}${retry}`}>
      {health.status === 'ready' ? 'connected' : health.status}
    </Badge>
  );
}

function ServerCard({ server, onChanged }: { server: McpServerView; onChanged(): void }) {
  const [busy, setBusy] = useState(false);
  const health = server.health;
  const act = async (run: () => Promise<unknown>, done: string): Promise<void> => {
    setBusy(true);
    try {
      await run();
      toast(done);
      onChanged();
    } catch (error) {
      toast(errorMessage(error), 'error');
    } finally {
      setBusy(false);
    }
  };
  const oauth = server.oauth;
  const path = `/api/mcp/servers/${encodeURIComponent(server.name)}`;
  /** The browser goes to the authorization server, and comes back to this page through Heimdall's callback. */
  const connect = async (): Promise<void> => {
    setBusy(true);
    try {
      const started = await api.post<{ authorization_url: string }>(`${path}/oauth/authorize`);
      window.location.assign(started.authorization_url);
    } catch (error) {
      toast(errorMessage(error), 'error');
      setBusy(false);
    }
  };
  const target = server.transport === 'stdio' ? [server.command, ...server.args].join(' ') : (server.url ?? '');
  return (
    <Card
      title={
        <span className="row" style={{ gap: 8 }}>
          <span className="mono">{server.name}</span> <StatusBadge health={health} /> <Badge tone="neutral">{server.transport}</Badge>
          {server.source === 'file' ? <Badge tone="neutral" title="Declared in the config file">config file</Badge> : null}
        </span>
      }
      actions={
        <span className="row" style={{ gap: 8 }}>
          {oauth?.grant === 'authorization_code' ? (
            <Button variant={oauth.connected ? undefined : 'primary'} disabled={busy || !server.enabled} onClick={() => void connect()}>{oauth.connected ? 'Authorize again' : 'Connect'}</Button>
          ) : null}
          {oauth?.connected ? (
            <Button disabled={busy} onClick={() => window.confirm(`Forget the OAuth tokens of "${server.name}"?`) && act(() => api.delete(`${path}/oauth`), `Disconnected ${server.name}`)}>Disconnect</Button>
          ) : null}
          <Button disabled={busy || !server.enabled} onClick={() => act(() => api.post(`${path}/restart`), `Reconnecting ${server.name}`)}>Reconnect</Button>
          {server.source === 'store' ? (
            <Button variant="danger" disabled={busy} onClick={() => window.confirm(`Remove the MCP server "${server.name}"?`) && act(() => api.delete(`/api/mcp/servers/${encodeURIComponent(server.name)}`), `Removed ${server.name}`)}>Remove</Button>
          ) : null}
        </span>
      }
    >
      {server.description === null ? null : <p className="muted">{server.description}</p>}
      <dl className="kv">
        <dt>{server.transport === 'stdio' ? 'Command' : 'URL'}</dt>
        <dd className="mono truncate" title={target}>{target}</dd>
        {health?.server_info ? (<><dt>Server</dt><dd>{health.server_info.name} {health.server_info.version}</dd></>) : null}
        {health?.pid ? (<><dt>Process</dt><dd>pid {health.pid}</dd></>) : null}
        {health ? (<><dt>Restarts</dt><dd>{formatInteger(health.restarts)}{health.connected_at === null ? '' : `, connected ${formatRelative(health.connected_at)}`}</dd></>) : null}
        {oauth === null ? null : (
          <>
            <dt>OAuth</dt>
            <dd data-testid="mcp-oauth">
              {oauth.grant === 'authorization_code' ? 'authorization code' : 'client credentials'}
              {' · '}
              {oauth.connected ? `authorized${oauth.expires_at === null ? '' : `, token ${oauth.expires_at > Date.now() ? 'expires' : 'expired'} ${formatRelative(oauth.expires_at)}`}${oauth.refreshable ? ', refreshable' : ''}` : 'not authorized'}
              {oauth.client_id === null ? '' : ` · client ${oauth.client_id}`}
            </dd>
          </>
        )}
        {server.header_names.length > 0 ? (<><dt>Headers</dt><dd className="mono">{server.header_names.join(', ')}</dd></>) : null}
        {server.price_per_call > 0 ? (<><dt>Price</dt><dd>{formatUsd(server.price_per_call)} per call</dd></>) : null}
        {health?.error ? (<><dt>Last error</dt><dd className="key-error small">{health.error}</dd></>) : null}
      </dl>
      {health !== null && health.stderr.length > 0 && health.status !== 'ready' ? <div className="code-block"><pre className="small">{health.stderr.slice(-5).join('\n')}</pre></div> : null}
      <h4>Tools ({server.tools.length}){server.prompts.length + server.resources.length > 0 ? ` · ${server.prompts.length} prompts · ${server.resources.length} resources` : ''}</h4>
      {server.tools.length === 0 ? (
        <p className="muted small">{health?.status === 'ready' ? 'This server has no tools.' : 'Listed once the server is connected.'}</p>
      ) : (
        <ul className="source-list">
          {server.tools.map((tool) => (
            <li key={tool.name}>
              <span className="mono">{tool.namespaced}</span>
              {tool.description === null ? null : <span className="muted small"> — {tool.description}</span>}
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

/** "NAME=value" or "Name: value" lines into an object. */
function parsePairs(text: string, separator: '=' | ':'): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const at = line.indexOf(separator);
    if (line.trim() === '' || at <= 0) continue;
    out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

function AddServerForm({ onAdded }: { onAdded(): void }) {
  const [name, setName] = useState('');
  const [transport, setTransport] = useState<'http' | 'sse' | 'stdio'>('http');
  const [url, setUrl] = useState('');
  const [command, setCommand] = useState('');
  const [args, setArgs] = useState('');
  const [pairs, setPairs] = useState('');
  const [price, setPrice] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const body: Record<string, unknown> = { name: name.trim(), transport };
    if (transport === 'stdio') {
      body.command = command.trim();
      const list = args.split('\n').map((line) => line.trim()).filter((line) => line !== '');
      if (list.length > 0) body.args = list;
      const env = parsePairs(pairs, '=');
      if (env !== undefined) body.env = env;
    } else {
      body.url = url.trim();
      const headers = parsePairs(pairs, ':');
      if (headers !== undefined) body.headers = headers;
    }
    if (price.trim() !== '') body.price_per_call = Number(price);
    try {
      await api.post('/api/mcp/servers', body);
      toast(`Added ${body.name as string}`);
      setName('');
      setUrl('');
      setCommand('');
      setArgs('');
      setPairs('');
      onAdded();
    } catch (failure) {
      setError(errorMessage(failure));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title="Add an MCP server">
      <form className="form-grid" onSubmit={submit}>
        <Field label="Name" htmlFor="mcp-name" hint='Prefixes its tools: "github" gives github__create_issue.'>
          <input id="mcp-name" required value={name} onChange={(event) => setName(event.target.value)} placeholder="github" />
        </Field>
        <Field label="Transport" htmlFor="mcp-transport">
          <select id="mcp-transport" value={transport} onChange={(event) => setTransport(event.target.value as 'http' | 'sse' | 'stdio')}>
            <option value="http">Streamable HTTP</option>
            <option value="sse">SSE</option>
            <option value="stdio">stdio (Heimdall starts the process)</option>
          </select>
        </Field>
        {transport === 'stdio' ? (
          <>
            <Field label="Command" htmlFor="mcp-command">
              <input id="mcp-command" required value={command} onChange={(event) => setCommand(event.target.value)} placeholder="npx" />
            </Field>
            <Field label="Arguments, one per line" htmlFor="mcp-args">
              <textarea id="mcp-args" rows={3} value={args} onChange={(event) => setArgs(event.target.value)} />
            </Field>
            <Field label="Environment (NAME=value per line)" htmlFor="mcp-env" hint='Values are stored encrypted; "env.NAME" reads Heimdall&apos;s environment.'>
              <textarea id="mcp-env" rows={2} value={pairs} onChange={(event) => setPairs(event.target.value)} />
            </Field>
          </>
        ) : (
          <>
            <Field label="URL" htmlFor="mcp-url">
              <input id="mcp-url" required type="url" value={url} onChange={(event) => setUrl(event.target.value)} placeholder="https://mcp.example.com/mcp" />
            </Field>
            <Field label="Headers (Name: value per line)" htmlFor="mcp-headers" hint="Values are stored encrypted and never shown again.">
              <textarea id="mcp-headers" rows={2} value={pairs} onChange={(event) => setPairs(event.target.value)} />
            </Field>
          </>
        )}
        <Field label="Price per call (USD)" htmlFor="mcp-price" hint="Charged to the caller's budgets.">
          <input id="mcp-price" inputMode="decimal" value={price} onChange={(event) => setPrice(event.target.value)} placeholder="0" />
        </Field>
        {error === null ? null : <p className="key-error" role="alert">{error}</p>}
        <div>
          <Button type="submit" variant="primary" disabled={busy}>Add server</Button>
        </div>
      </form>
    </Card>
  );
}

function RecentCalls() {
  const calls = useResource((signal) => api.get<{ data: McpCall[] }>('/api/mcp/calls', { limit: 50 }, signal), [], { pollMs: 10_000 });
  if (calls.data === undefined) return calls.error === undefined ? <Loading rows={3} /> : <ErrorState error={calls.error} onRetry={calls.reload} title="Could not load the tool calls" />;
  if (calls.data.data.length === 0) return <EmptyState title="No tool call yet">Calls through /mcp and the tool loop appear here.</EmptyState>;
  return (
    <div className="table-wrap">
      <table className="table">
        <thead>
          <tr><th>Time</th><th>Tool</th><th>Via</th><th>Key</th><th>Duration</th><th>Result</th><th>Cost</th></tr>
        </thead>
        <tbody>
          {calls.data.data.map((call) => (
            <tr key={call.id}>
              <td className="nowrap">{formatDateTime(call.time)}</td>
              <td className="mono">{call.server}__{call.tool}</td>
              <td>{call.origin === 'loop' ? 'tool loop' : '/mcp'}</td>
              <td className="mono">{call.virtual_key_id ?? '—'}</td>
              <td>{formatMs(call.duration_ms)}</td>
              <td>{call.error !== null ? <Badge tone="error" title={call.error}>failed</Badge> : call.is_error ? <Badge tone="warn">tool error</Badge> : <Badge tone="ok">{formatInteger(call.result_bytes)} B</Badge>}</td>
              <td>{formatUsd(call.cost_usd)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The OAuth callback sends the browser back here with the outcome in the query: shown once, then removed. */
function useOAuthOutcome(): void {
  useEffect(() => {
    const query = new URLSearchParams(window.location.search);
    const connected = query.get('oauth_connected');
    const failed = query.get('oauth_error');
    if (connected === null && failed === null) return;
    if (connected !== null) toast(`Connected ${connected}`);
    else toast(`Authorization failed${query.get('server') === null ? '' : ` (${query.get('server')})`}: ${failed}`, 'error');
    window.history.replaceState(null, '', window.location.pathname);
  }, []);
}

export function McpPage() {
  useTitle('MCP servers');
  useOAuthOutcome();
  const servers = useResource((signal) => api.get<{ data: McpServerView[] }>('/api/mcp/servers', undefined, signal), [], { pollMs: 5_000 });
  return (
    <>
      <PageHeader title="MCP servers" description={<>Upstream MCP servers, served together at <span className="mono">/mcp</span> to virtual keys under namespaced tool names.</>} />
      {servers.data === undefined ? (
        servers.error === undefined ? <Loading rows={4} /> : <ErrorState error={servers.error} onRetry={servers.reload} title="Could not load the MCP servers" />
      ) : servers.data.data.length === 0 ? (
        <EmptyState title="No MCP server yet">Add one below, or under mcp.servers in the config file.</EmptyState>
      ) : (
        <div className="stack" data-testid="mcp-servers">
          {servers.data.data.map((server) => <ServerCard key={server.name} server={server} onChanged={servers.reload} />)}
        </div>
      )}
      <AddServerForm onAdded={servers.reload} />
      <Card title="Latest tool calls" className="flush">
        <RecentCalls />
      </Card>
    </>
  );
}
