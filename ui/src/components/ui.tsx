/** Small building blocks shared by every page. */
import { useEffect, useRef, useState, type ButtonHTMLAttributes, type ReactNode } from 'react';
import { ApiError } from '../api/client.js';
import { AlertIcon, CheckIcon, CopyIcon, InboxIcon, RefreshIcon } from './icons.js';

type Variant = 'primary' | 'secondary' | 'ghost' | 'danger';

export function Button({
  variant = 'secondary',
  size,
  busy = false,
  className,
  children,
  disabled,
  type = 'button',
  ...rest
}: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant; size?: 'sm'; busy?: boolean }) {
  const classes = ['btn', `btn-${variant}`, size === 'sm' ? 'btn-sm' : '', className ?? ''].filter(Boolean).join(' ');
  return (
    <button type={type} className={classes} disabled={disabled === true || busy} aria-busy={busy || undefined} {...rest}>
      {busy ? <span className="spinner" aria-hidden="true" /> : null}
      {children}
    </button>
  );
}

export function Badge({ tone = 'neutral', children, title }: { tone?: 'neutral' | 'ok' | 'warn' | 'error' | 'info'; children: ReactNode; title?: string }) {
  return (
    <span className={`badge badge-${tone}`} title={title}>
      {children}
    </span>
  );
}

export function Card({ title, actions, children, className, id }: { title?: ReactNode; actions?: ReactNode; children: ReactNode; className?: string; id?: string }) {
  return (
    <section className={`card ${className ?? ''}`} aria-labelledby={title === undefined || id === undefined ? undefined : `${id}-title`}>
      {title === undefined && actions === undefined ? null : (
        <header className="card-header">
          {title === undefined ? <span /> : <h2 id={id === undefined ? undefined : `${id}-title`}>{title}</h2>}
          {actions === undefined ? null : <div className="card-actions">{actions}</div>}
        </header>
      )}
      {children}
    </section>
  );
}

export function PageHeader({ title, description, actions }: { title: string; description?: ReactNode; actions?: ReactNode }) {
  return (
    <header className="page-header">
      <div>
        <h1 tabIndex={-1}>{title}</h1>
        {description === undefined ? null : <p className="muted">{description}</p>}
      </div>
      {actions === undefined ? null : <div className="page-actions">{actions}</div>}
    </header>
  );
}

export function Loading({ label = 'Loading…', rows = 3 }: { label?: string; rows?: number }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="sr-only">{label}</span>
      {Array.from({ length: rows }, (_, index) => (
        <div key={index} className="skeleton" style={{ width: `${90 - index * 12}%` }} />
      ))}
    </div>
  );
}

export function EmptyState({ title, children, action, icon }: { title: string; children?: ReactNode; action?: ReactNode; icon?: ReactNode }) {
  return (
    <div className="empty">
      <div className="empty-icon">{icon ?? <InboxIcon width={28} height={28} />}</div>
      <h3>{title}</h3>
      {children === undefined ? null : <div className="muted">{children}</div>}
      {action === undefined ? null : <div className="empty-action">{action}</div>}
    </div>
  );
}

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    // A missing route (an older gateway) reads differently from a missing object ("No request log has id …").
    if (error.status === 404 && error.message.startsWith('No route for')) return `Not available: this gateway does not serve that part of the management API (${error.message})`;
    return error.param === null ? error.message : `${error.message} (${error.param})`;
  }
  return error instanceof Error ? error.message : String(error);
}

export function ErrorState({ error, onRetry, title = 'Something went wrong' }: { error: unknown; onRetry?: () => void; title?: string }) {
  return (
    <div className="error-state" role="alert">
      <AlertIcon width={20} height={20} />
      <div>
        <strong>{title}</strong>
        <p>{errorMessage(error)}</p>
      </div>
      {onRetry === undefined ? null : (
        <Button size="sm" onClick={onRetry}>
          <RefreshIcon width={14} height={14} /> Retry
        </Button>
      )}
    </div>
  );
}

/** Renders loading, error or the content of a resource; `empty` when the data says so. */
export function Async<T>({
  resource,
  children,
  rows,
}: {
  resource: { data: T | undefined; error: Error | undefined; loading: boolean; reload(): void };
  children: (data: T) => ReactNode;
  rows?: number;
}) {
  if (resource.data === undefined && resource.error !== undefined) return <ErrorState error={resource.error} onRetry={resource.reload} />;
  if (resource.data === undefined) return <Loading rows={rows} />;
  return (
    <>
      {resource.error === undefined ? null : <ErrorState title="Could not refresh" error={resource.error} onRetry={resource.reload} />}
      {children(resource.data)}
    </>
  );
}

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Non-secure origins (http on a LAN address) have no clipboard API: fall back to a selection.
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.append(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    return ok;
  }
}

export function CopyButton({ text, label = 'Copy', className }: { text: string; label?: string; className?: string }) {
  const [copied, setCopied] = useState(false);
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  return (
    <button
      type="button"
      className={`btn btn-ghost btn-sm copy-button ${className ?? ''}`}
      onClick={async () => {
        const ok = await copyText(text);
        setCopied(ok);
        window.clearTimeout(timer.current);
        timer.current = window.setTimeout(() => setCopied(false), 1800);
      }}
      aria-label={copied ? 'Copied' : label}
    >
      {copied ? <CheckIcon width={14} height={14} /> : <CopyIcon width={14} height={14} />}
      <span aria-live="polite">{copied ? 'Copied' : label}</span>
    </button>
  );
}

export function CodeBlock({ code, label, maxHeight }: { code: string; label?: string; maxHeight?: number }) {
  return (
    <div className="code-block">
      <div className="code-block-bar">
        <span className="muted">{label ?? ''}</span>
        <CopyButton text={code} label={label === undefined ? 'Copy' : `Copy ${label}`} />
      </div>
      <pre tabIndex={0} style={maxHeight === undefined ? undefined : { maxHeight }}>
        <code>{code}</code>
      </pre>
    </div>
  );
}

/** A usage bar: spent of a limit; colours warn at 80% and fail at 100%. */
export function UsageBar({ value, max, label, format, suffix }: { value: number; max: number | null | undefined; label: string; format: (value: number) => string; suffix?: string }) {
  if (max === null || max === undefined || max <= 0) {
    return (
      <div className="usage">
        <div className="usage-text">
          <span>{format(value)}</span>
          <span className="muted">no limit</span>
        </div>
      </div>
    );
  }
  const ratio = Math.min(1, value / max);
  const tone = value >= max ? 'error' : ratio >= 0.8 ? 'warn' : 'ok';
  return (
    <div className="usage">
      <div className="usage-text">
        <span>{format(value)}</span>
        <span className="muted nowrap">
          of {format(max)}
          {suffix === undefined || suffix === '' ? '' : ` ${suffix}`}
        </span>
      </div>
      <div className={`usage-track usage-${tone}`} role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={max} aria-valuenow={value} aria-valuetext={`${format(value)} of ${format(max)}`}>
        <div className="usage-fill" style={{ width: `${ratio * 100}%` }} />
      </div>
    </div>
  );
}

export function Switch({ checked, onChange, label, disabled }: { checked: boolean; onChange(value: boolean): void; label: string; disabled?: boolean }) {
  return (
    <button type="button" role="switch" aria-checked={checked} aria-label={label} className="switch" disabled={disabled} onClick={() => onChange(!checked)}>
      <span className="switch-thumb" />
    </button>
  );
}

export function Field({ label, hint, error, children, htmlFor, className }: { label: string; hint?: ReactNode; error?: string | null; children: ReactNode; htmlFor: string; className?: string }) {
  return (
    <div className={`field ${error ? 'field-invalid' : ''} ${className ?? ''}`}>
      <label htmlFor={htmlFor}>{label}</label>
      {children}
      {error ? (
        <span className="field-error" role="alert">
          {error}
        </span>
      ) : hint === undefined ? null : (
        <span className="field-hint">{hint}</span>
      )}
    </div>
  );
}

export function Stat({ label, value, sub, tone }: { label: string; value: ReactNode; sub?: ReactNode; tone?: 'ok' | 'warn' | 'error' }) {
  return (
    <div className={`stat ${tone === undefined ? '' : `stat-${tone}`}`}>
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
      {sub === undefined ? null : <div className="stat-sub">{sub}</div>}
    </div>
  );
}

export function Segmented<T extends string>({ value, options, onChange, label }: { value: T; options: Array<{ value: T; label: string }>; onChange(value: T): void; label: string }) {
  return (
    <div className="segmented" role="radiogroup" aria-label={label}>
      {options.map((option) => (
        <button
          key={option.value}
          type="button"
          role="radio"
          aria-checked={option.value === value}
          tabIndex={option.value === value ? 0 : -1}
          className={option.value === value ? 'active' : ''}
          onClick={() => onChange(option.value)}
          onKeyDown={(event) => {
            const index = options.findIndex((item) => item.value === value);
            const step = event.key === 'ArrowRight' || event.key === 'ArrowDown' ? 1 : event.key === 'ArrowLeft' || event.key === 'ArrowUp' ? -1 : 0;
            if (step === 0) return;
            event.preventDefault();
            const next = options[(index + step + options.length) % options.length];
            onChange(next.value);
            const group = event.currentTarget.parentElement;
            window.requestAnimationFrame(() => group?.querySelector<HTMLButtonElement>('[aria-checked="true"]')?.focus());
          }}
        >
          {option.label}
        </button>
      ))}
    </div>
  );
}
