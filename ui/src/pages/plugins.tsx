/**
 * Plugins: every plugin on the request lifecycle in the order it runs (Heimdall's own
 * included), and the configured list, edited as JSON and applied at once (PUT /api/plugins:
 * each module is loaded before anything is saved). docs/plugins.md explains the stages.
 */
import { useEffect, useState } from 'react';
import { api } from '../api/client.js';
import { Badge, Button, Card, PageHeader, Async, errorMessage } from '../components/ui.js';
import { toast } from '../components/toast.js';
import { useTitle } from '../lib/router.js';
import { useResource } from '../lib/use-resource.js';

interface PluginsView {
  data: Array<{ name: string; builtin: boolean; stages: string[]; fail_closed: boolean; timeout_ms: number | null }>;
  configured: unknown[];
  source: 'config_file' | 'store';
  status: Array<{ source: string; enabled: boolean; name: string | null; loaded: boolean; error: string | null }>;
}

const EXAMPLE = '[\n  { "path": "./plugins/my-plugin.mjs", "options": {} }\n]';

export function PluginsPage() {
  useTitle('Plugins');
  const view = useResource((signal) => api.get<PluginsView>('/api/plugins', undefined, signal), []);
  return (
    <>
      <PageHeader title="Plugins" description="Every request goes through these plugins, in this order. Configured plugins apply at once, without a restart." />
      <Async resource={view} rows={6}>
        {(data) => <PluginsBody view={data} onSaved={view.reload} />}
      </Async>
    </>
  );
}

function PluginsBody({ view, onSaved }: { view: PluginsView; onSaved(): void }) {
  const [text, setText] = useState(() => JSON.stringify(view.configured, null, 2));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => setText(JSON.stringify(view.configured, null, 2)), [view.configured]);

  const save = async (): Promise<void> => {
    let plugins: unknown;
    try {
      plugins = JSON.parse(text);
    } catch {
      setError('Not valid JSON: the list is an array of { "path" or "package", "options" } entries.');
      return;
    }
    setBusy(true);
    try {
      await api.put('/api/plugins', { plugins });
      setError(null);
      toast('Plugins saved and applied');
      onSaved();
    } catch (failure) {
      setError(errorMessage(failure));
    } finally {
      setBusy(false);
    }
  };
  const revert = async (): Promise<void> => {
    setBusy(true);
    try {
      await api.delete('/api/plugins');
      setError(null);
      toast('Back to the config file\'s plugins');
      onSaved();
    } catch (failure) {
      setError(errorMessage(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <Card title="Running order">
        <div className="table-wrap">
          <table className="table" aria-label="Plugins in running order">
            <thead>
              <tr><th>#</th><th>Plugin</th><th>Stages</th><th>On failure</th><th>Timeout</th></tr>
            </thead>
            <tbody>
              {view.data.map((plugin, index) => (
                <tr key={plugin.name}>
                  <td>{index + 1}</td>
                  <td>
                    <strong>{plugin.name}</strong> {plugin.builtin ? <Badge>built-in</Badge> : <Badge tone="info">configured</Badge>}
                  </td>
                  <td>{plugin.stages.join(', ')}</td>
                  <td>{plugin.fail_closed ? <Badge tone="warn">fails the request</Badge> : 'skipped'}</td>
                  <td>{plugin.timeout_ms === null ? '—' : `${plugin.timeout_ms} ms`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </Card>
      <Card
        title="Configured plugins"
        actions={view.source === 'store' ? <Badge tone="info">saved here (overrides the config file)</Badge> : <Badge>from the config file</Badge>}
      >
        {view.status.some((status) => status.error !== null) ? (
          <p role="alert" className="error-text">{view.status.filter((status) => status.error !== null).map((status) => status.error).join('; ')}</p>
        ) : null}
        <label htmlFor="plugins-json" className="field-label">Plugins (JSON, as in the config file's "plugins")</label>
        <textarea
          id="plugins-json"
          className="input mono"
          rows={10}
          spellCheck={false}
          value={text}
          placeholder={EXAMPLE}
          onChange={(event) => setText(event.target.value)}
          style={{ width: '100%', fontFamily: 'var(--font-mono, monospace)' }}
        />
        {error === null ? null : <p role="alert" className="error-text">{error}</p>}
        <div style={{ display: 'flex', gap: 8, marginTop: 12 }}>
          <Button variant="primary" onClick={() => void save()} busy={busy}>Save and apply</Button>
          {view.source === 'store' ? <Button onClick={() => void revert()} disabled={busy}>Use the config file's list</Button> : null}
        </div>
      </Card>
    </>
  );
}
