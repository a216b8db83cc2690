/**
 * Pricing: the price book the gateway computes cost with (GET /api/pricing),
 * USD per million tokens: the model catalog's prices with the packages and
 * dates they come from, under the config file's overrides. Read-only here:
 * overrides go in `pricing` or `catalog.overrides` in the config file. By
 * default only the providers configured on this gateway show.
 */
import { useMemo, useState } from 'react';
import { pricing as pricingApi, providers as providersApi } from '../api/endpoints.js';
import type { ModelPrice, PricingTable } from '../api/types.js';
import { Async, Badge, Card, EmptyState, Field, PageHeader } from '../components/ui.js';
import { formatInteger } from '../lib/format.js';
import { Link, setSearch, useLocation, useTitle } from '../lib/router.js';
import { useResource } from '../lib/use-resource.js';

/** "$2.50", "$0.125", "$0.075", "—": a price per million tokens, exact to a hundredth of a cent, at least cents. */
function price(value: number | undefined): string {
  if (value === undefined) return '—';
  if (value === 0) return '$0';
  const [whole, fraction = ''] = value.toFixed(4).replace(/0+$/, '').split('.');
  return `$${whole}.${fraction.padEnd(2, '0')}`;
}

function extras(row: ModelPrice): string[] {
  const notes: string[] = [];
  if (row.cache_write !== undefined) notes.push(`cache write ${price(row.cache_write)}`);
  if (row.reasoning !== undefined && row.reasoning !== row.output) notes.push(`reasoning ${price(row.reasoning)}`);
  if (row.embedding !== undefined && row.input !== undefined) notes.push(`embedding ${price(row.embedding)}`);
  if (row.embedding !== undefined && row.input === undefined) notes.push('embeddings');
  if (row.long_context !== undefined) {
    const lc = row.long_context;
    notes.push(`above ${formatInteger(lc.threshold)} input tokens: ${price(lc.input)} in / ${price(lc.output)} out`);
  }
  return notes;
}

export function PricingPage() {
  useTitle('Pricing');
  const table = useResource((signal) => pricingApi.get(signal), []);
  const configured = useResource((signal) => providersApi.list(signal).catch(() => ({ data: [] })), []);
  return (
    <>
      <PageHeader
        title="Pricing"
        description={
          <>
            What each call costs: USD per million tokens. The <Link to="/usage">Usage</Link> page, budgets and the logs use these prices.
          </>
        }
      />
      <Async resource={table} rows={8}>
        {(data) => <PriceBook table={data} configured={(configured.data?.data ?? []).map((provider) => ({ name: provider.name, type: provider.type }))} />}
      </Async>
    </>
  );
}

function PriceBook({ table, configured }: { table: PricingTable; configured: Array<{ name: string; type: string }> }) {
  const { search } = useLocation();
  const [text, setText] = useState(search.get('q') ?? '');
  // A configured provider's prices: its own name, its type, or the provider it borrows prices from (azure -> openai).
  const mine = useMemo(() => {
    const names = new Set<string>();
    for (const provider of configured) for (const name of [provider.name, provider.type]) names.add(table.provider_aliases[name] ?? name);
    return names;
  }, [configured, table]);
  const scope = search.get('show') === 'all' || mine.size === 0 ? 'all' : 'mine';
  const provider = search.get('provider') ?? '';
  const providers = useMemo(() => [...new Set(table.data.map((row) => row.provider))].sort(), [table]);
  const rows = useMemo(() => {
    const needle = text.trim().toLowerCase();
    return table.data
      .filter((row) => (scope === 'all' || mine.has(row.provider)) && (provider === '' || row.provider === provider) && (needle === '' || row.model.toLowerCase().includes(needle)))
      .sort((a, b) => a.provider.localeCompare(b.provider) || a.name.localeCompare(b.name));
  }, [table, text, scope, provider, mine]);
  const overrides = table.data.filter((row) => row.source === 'config').length;
  // Providers that borrow another's prices (azure -> openai), when one of them is configured here.
  const aliases = Object.entries(table.provider_aliases).filter(([from]) => configured.some((provider) => provider.name === from || provider.type === from));

  return (
    <div className="stack" data-testid="pricing">
      <div className="notice small" data-testid="catalog-source">
        Prices as of <strong>{table.as_of}</strong> from the model catalog
        {table.catalog.sources.length === 0 ? null : (
          <>
            {' '}(
            {table.catalog.sources.map((source, index) => (
              <span key={source.package}>
                {index > 0 ? ', ' : null}
                <code>{source.package}</code> {source.version} of {source.published}
              </span>
            ))}
            )
          </>
        )}
        {overrides > 0 ? `, with ${overrides} override${overrides === 1 ? '' : 's'} from the config file` : ''}. To change a price, set it under{' '}
        <code>pricing</code> or <code>catalog.overrides</code> in the config file; a model without a price is logged with an unknown cost.
        {aliases.length === 0 ? null : ` ${aliases.map(([from, to]) => `${from} uses ${to}'s prices`).join('; ')}.`}
      </div>
      <div className="card">
        <form className="filters" role="search" aria-label="Filter prices" onSubmit={(event) => event.preventDefault()}>
          <Field label="Model" htmlFor="p-q">
            <input id="p-q" type="search" placeholder="e.g. gpt-4o, sonnet" value={text} onChange={(event) => setText(event.target.value)} />
          </Field>
          <Field label="Provider" htmlFor="p-provider">
            <select id="p-provider" value={provider} onChange={(event) => setSearch({ show: scope === 'all' ? 'all' : undefined, provider: event.target.value })}>
              <option value="">All providers</option>
              {providers.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Show" htmlFor="p-show">
            <select id="p-show" value={scope} disabled={mine.size === 0} onChange={(event) => setSearch({ show: event.target.value === 'all' ? 'all' : undefined, provider })}>
              <option value="mine">Providers configured here</option>
              <option value="all">Every provider ({formatInteger(table.data.length)} prices)</option>
            </select>
          </Field>
        </form>
      </div>
      <Card title={`${formatInteger(rows.length)} ${rows.length === 1 ? 'model' : 'models'}`} className="flush" actions={<span className="muted small">USD per 1M tokens</span>}>
        {rows.length === 0 ? (
          <EmptyState title="No price matches">Try another name, or show every provider.</EmptyState>
        ) : (
          <div className="table-wrap">
            <table className="table" data-testid="price-table">
              <thead>
                <tr>
                  <th>Provider</th>
                  <th>Model</th>
                  <th className="num">Input</th>
                  <th className="num">Cached input</th>
                  <th className="num">Output</th>
                  <th>Other</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((row, index) => {
                  const notes = extras(row);
                  const first = index === 0 || rows[index - 1].provider !== row.provider;
                  return (
                    <tr key={row.model} className={first && index > 0 ? 'group-start' : undefined}>
                      <td className="nowrap">{first ? <strong>{row.provider}</strong> : <span className="sr-only">{row.provider}</span>}</td>
                      <td className="mono nowrap">
                        {row.name}
                        {row.source === 'config' ? (
                          <>
                            {' '}
                            <Badge tone="info" title="Set in the config file (pricing)">
                              override
                            </Badge>
                          </>
                        ) : null}
                      </td>
                      <td className="num">{price(row.input ?? row.embedding)}</td>
                      <td className="num">{price(row.cached_input)}</td>
                      <td className="num">{price(row.output)}</td>
                      <td className="small muted">{notes.length === 0 ? null : notes.join(' · ')}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </Card>
      {table.catalog.sources.length === 0 ? null : (
        <Card title="Sources">
          <ul className="source-list">
            {table.catalog.sources.map((source) => (
              <li key={source.package}>
                <span>
                  {source.package} {source.version} (published {source.published}): {source.provides}
                </span>
                <a href={source.homepage} target="_blank" rel="noreferrer">
                  {source.homepage.replace(/^https?:\/\//, '')}
                </a>
              </li>
            ))}
          </ul>
        </Card>
      )}
    </div>
  );
}
