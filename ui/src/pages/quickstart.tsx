/**
 * "Connect an app": copyable curl and SDK snippets using this gateway's real URL.
 * Also the first-run state of the overview when no provider is configured.
 */
import { useState } from 'react';
import { providers as providersApi } from '../api/endpoints.js';
import { Card, CodeBlock, PageHeader } from '../components/ui.js';
import { PlusIcon } from '../components/icons.js';
import { Link, useTitle } from '../lib/router.js';
import { useResource } from '../lib/use-resource.js';

type Snippet = 'curl' | 'node' | 'python' | 'anthropic' | 'gemini';

export function snippets(origin: string, model: string): Record<Snippet, { label: string; code: string }> {
  return {
    curl: {
      label: 'curl',
      code: `curl ${origin}/v1/chat/completions \\
  -H 'content-type: application/json' \\
  -H 'authorization: Bearer YOUR_VIRTUAL_KEY' \\
  -d '{"model": "${model}", "messages": [{"role": "user", "content": "Hello!"}]}'`,
    },
    node: {
      label: 'OpenAI SDK (Node)',
      code: `import OpenAI from 'openai';

const client = new OpenAI({ baseURL: '${origin}/v1', apiKey: 'YOUR_VIRTUAL_KEY' });
const completion = await client.chat.completions.create({
  model: '${model}',
  messages: [{ role: 'user', content: 'Hello!' }],
});
console.log(completion.choices[0].message.content);`,
    },
    python: {
      label: 'OpenAI SDK (Python)',
      code: `from openai import OpenAI

client = OpenAI(base_url="${origin}/v1", api_key="YOUR_VIRTUAL_KEY")
completion = client.chat.completions.create(
    model="${model}",
    messages=[{"role": "user", "content": "Hello!"}],
)
print(completion.choices[0].message.content)`,
    },
    anthropic: {
      label: 'Anthropic SDK',
      code: `import Anthropic from '@anthropic-ai/sdk';

const anthropic = new Anthropic({ baseURL: '${origin}/anthropic', apiKey: 'YOUR_VIRTUAL_KEY' });
const message = await anthropic.messages.create({
  model: '${model}',
  max_tokens: 512,
  messages: [{ role: 'user', content: 'Hello!' }],
});
console.log(message.content);`,
    },
    gemini: {
      label: 'Gemini SDK',
      code: `import { GoogleGenAI } from '@google/genai';

const ai = new GoogleGenAI({ apiKey: 'YOUR_VIRTUAL_KEY', httpOptions: { baseUrl: '${origin}/genai' } });
const response = await ai.models.generateContent({ model: '${model}', contents: 'Hello!' });
console.log(response.text);`,
    },
  };
}

export function ConnectSnippets({ model }: { model?: string }) {
  const origin = window.location.origin;
  const all = snippets(origin, model ?? 'openai/gpt-4o-mini');
  const [tab, setTab] = useState<Snippet>('curl');
  const names = Object.keys(all) as Snippet[];
  return (
    <div>
      <div className="tabs" role="tablist" aria-label="Snippet language">
        {names.map((name) => (
          <button
            key={name}
            type="button"
            role="tab"
            id={`snippet-tab-${name}`}
            aria-selected={tab === name}
            aria-controls="snippet-panel"
            tabIndex={tab === name ? 0 : -1}
            onClick={() => setTab(name)}
            onKeyDown={(event) => {
              const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
              if (step === 0) return;
              const next = names[(names.indexOf(tab) + step + names.length) % names.length];
              setTab(next);
              document.getElementById(`snippet-tab-${next}`)?.focus();
            }}
          >
            {all[name].label}
          </button>
        ))}
      </div>
      <div id="snippet-panel" role="tabpanel" aria-labelledby={`snippet-tab-${tab}`}>
        <CodeBlock code={all[tab].code} label={all[tab].label} />
      </div>
      <p className="muted small" style={{ marginTop: 8 }}>
        Base URLs: OpenAI <code>{origin}/v1</code>, Anthropic <code>{origin}/anthropic</code>, Gemini <code>{origin}/genai</code>. Models are named <code>provider/model</code>, and
        any model works from any SDK. Send a <Link to="/keys">virtual key</Link> as the API key to apply its budget and limits; until{' '}
        <Link to="/settings">Require a virtual key</Link> is on, any key value is accepted.
      </p>
    </div>
  );
}

/** What the overview shows while no provider is configured. */
export function FirstRun() {
  return (
    <div className="stack" data-testid="first-run">
      <div className="card">
        <h2 style={{ fontSize: '1.15rem' }}>Welcome to Heimdall</h2>
        <p className="muted">No provider is configured yet, so the gateway cannot answer model calls. Two steps to your first request:</p>
        <ol style={{ paddingLeft: 20, margin: '12px 0 0', display: 'grid', gap: 8 }}>
          <li>
            <strong>Add a provider.</strong> Paste an API key in the dashboard, or start the gateway with a key variable set (for example <code>OPENAI_API_KEY</code>
            , <code>ANTHROPIC_API_KEY</code>, <code>GEMINI_API_KEY</code>).
            <div style={{ marginTop: 8 }}>
              <Link to="/providers?add=1" className="btn btn-primary">
                <PlusIcon width={16} height={16} /> Add a provider
              </Link>
            </div>
          </li>
          <li>
            <strong>Point your app at the gateway</strong> with one of these snippets; models are named <code>provider/model</code>.
          </li>
        </ol>
      </div>
      <Card title="Connect an app">
        <ConnectSnippets />
      </Card>
    </div>
  );
}

/** A model this gateway serves, for the snippets: the first listed model of the first enabled provider. */
function useExampleModel(): string | undefined {
  const list = useResource((signal) => providersApi.list(signal).catch(() => ({ data: [] })), []);
  const provider = list.data?.data.find((item) => item.enabled && (item.models ?? []).length > 0);
  if (provider === undefined) return undefined;
  const preferred = (provider.models ?? []).find((model) => /mini|flash|haiku|small/.test(model)) ?? (provider.models ?? [])[0];
  return `${provider.name}/${preferred}`;
}

export function QuickstartPage() {
  useTitle('Connect an app');
  const model = useExampleModel();
  return (
    <>
      <PageHeader title="Connect an app" description="Point any OpenAI, Anthropic or Gemini SDK at this gateway: only the base URL changes." />
      <div className="stack">
        <Card title="Snippets">
          <ConnectSnippets model={model} />
        </Card>
        <Card title="Next steps">
          <ul style={{ margin: 0, paddingLeft: 20, display: 'grid', gap: 6 }}>
            <li>
              <Link to="/keys">Create a virtual key</Link> per app or user: budgets, rate limits and spend per key.
            </li>
            <li>
              <Link to="/routing">Add aliases, fallbacks and model groups</Link> to balance and fail over between providers.
            </li>
            <li>
              Watch calls arrive in <Link to="/logs">Logs</Link>.
            </li>
          </ul>
        </Card>
      </div>
    </>
  );
}
