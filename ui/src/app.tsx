/**
 * The dashboard shell: the login gate (when admin auth is on), the sidebar,
 * and the page for the current path.
 */
import { useCallback, useEffect, useState, type ComponentType, type ReactNode } from 'react';
import { ApiError, onUnauthorized } from './api/client.js';
import { auth } from './api/endpoints.js';
import type { AuthStatus } from './api/types.js';
import {
  AuditIcon,
  BoltIcon,
  CacheIcon,
  CustomerIcon,
  FilterIcon,
  InboxIcon,
  KeyIcon,
  LogoutIcon,
  LogsIcon,
  MenuIcon,
  MonitorIcon,
  MoonIcon,
  OverviewIcon,
  PriceIcon,
  ProvidersIcon,
  RoutingIcon,
  ServerIcon,
  SettingsIcon,
  SunIcon,
  TeamIcon,
  ToolIcon,
  UsageIcon,
} from './components/icons.js';
import { Toasts } from './components/toast.js';
import { Loading } from './components/ui.js';
import { Link, navigate, useLocation } from './lib/router.js';
import { useTheme } from './lib/theme.js';
import { AuditPage } from './pages/audit.js';
import { BlockedPage } from './pages/blocked.js';
import { CachePage } from './pages/cache.js';
import { ClusterPage } from './pages/cluster.js';
import { CustomersPage, TeamsPage } from './pages/groups.js';
import { LoginPage, SetupPage } from './pages/login.js';
import { AccountPage } from './pages/account.js';
import { UsersPage } from './pages/users.js';
import { AccessProvider, useCan } from './lib/access.js';
import { LogDetailPage } from './pages/log-detail.js';
import { LogsPage } from './pages/logs.js';
import { McpPage } from './pages/mcp.js';
import { BatchesPage } from './pages/batches.js';
import { NotFoundPage } from './pages/not-found.js';
import { OverviewPage } from './pages/overview.js';
import { PluginsPage } from './pages/plugins.js';
import { PricingPage } from './pages/pricing.js';
import { ProvidersPage } from './pages/providers.js';
import { QuickstartPage } from './pages/quickstart.js';
import { RoutingPage } from './pages/routing.js';
import { SettingsPage } from './pages/settings.js';
import { UsagePage } from './pages/usage.js';
import { VirtualKeysPage } from './pages/virtual-keys.js';

interface NavItem {
  to: string;
  label: string;
  icon: ComponentType<{ width?: number; height?: number }>;
  section?: string;
  /** The API route the page reads: hidden when the signed-in user may not call it. */
  needs?: string;
}

const NAV: NavItem[] = [
  { to: '/', label: 'Overview', icon: OverviewIcon, needs: 'GET /api/logs/stats' },
  { to: '/logs', label: 'Logs', icon: LogsIcon, needs: 'GET /api/logs' },
  { to: '/usage', label: 'Usage', icon: UsageIcon, needs: 'GET /api/usage' },
  { to: '/cache', label: 'Cache', icon: CacheIcon, needs: 'GET /api/cache/stats' },
  { to: '/batches', label: 'Batches', icon: InboxIcon, needs: 'GET /api/batches' },
  { to: '/providers', label: 'Providers', icon: ProvidersIcon, section: 'Configure', needs: 'GET /api/providers' },
  { to: '/routing', label: 'Routing', icon: RoutingIcon, needs: 'GET /api/routing' },
  { to: '/pricing', label: 'Pricing', icon: PriceIcon, needs: 'GET /api/pricing' },
  { to: '/mcp-servers', label: 'MCP servers', icon: ToolIcon, needs: 'GET /api/mcp/servers' },
  { to: '/keys', label: 'Virtual keys', icon: KeyIcon, section: 'Access', needs: 'GET /api/virtual-keys' },
  { to: '/teams', label: 'Teams', icon: TeamIcon, needs: 'GET /api/teams' },
  { to: '/customers', label: 'Customers', icon: CustomerIcon, needs: 'GET /api/customers' },
  { to: '/users', label: 'Users', icon: TeamIcon, needs: 'GET /api/users' },
  { to: '/settings', label: 'Settings', icon: SettingsIcon, section: 'Admin', needs: 'GET /api/settings' },
  { to: '/plugins', label: 'Plugins', icon: FilterIcon, needs: 'GET /api/plugins' },
  { to: '/audit', label: 'Audit log', icon: AuditIcon, needs: 'GET /api/audit' },
  { to: '/cluster', label: 'Cluster', icon: ServerIcon, needs: 'GET /api/cluster' },
  { to: '/account', label: 'Account', icon: KeyIcon, needs: 'GET /api/auth/me' },
  { to: '/quickstart', label: 'Connect an app', icon: BoltIcon },
];

function pageFor(path: string): ReactNode {
  const clean = path.length > 1 ? path.replace(/\/+$/, '') : path;
  if (clean === '/') return <OverviewPage />;
  if (clean === '/logs') return <LogsPage />;
  if (clean.startsWith('/logs/')) return <LogDetailPage id={decodeURIComponent(clean.slice('/logs/'.length))} />;
  if (clean === '/usage') return <UsagePage />;
  if (clean === '/cache') return <CachePage />;
  if (clean === '/batches') return <BatchesPage />;
  if (clean === '/pricing') return <PricingPage />;
  if (clean === '/providers') return <ProvidersPage />;
  if (clean === '/routing') return <RoutingPage />;
  if (clean === '/mcp-servers') return <McpPage />;
  if (clean === '/keys') return <VirtualKeysPage />;
  if (clean === '/teams') return <TeamsPage />;
  if (clean === '/customers') return <CustomersPage />;
  if (clean === '/settings') return <SettingsPage />;
  if (clean === '/audit') return <AuditPage />;
  if (clean === '/cluster') return <ClusterPage />;
  if (clean === '/plugins') return <PluginsPage />;
  if (clean === '/users') return <UsersPage />;
  if (clean === '/account') return <AccountPage />;
  if (clean === '/quickstart') return <QuickstartPage />;
  return <NotFoundPage />;
}

/** The section heading shown above nav[index]: its own, or the first hidden page's section it now opens. */
function sectionOf(nav: NavItem[], index: number): string | undefined {
  const position = NAV.indexOf(nav[index]);
  const previous = index === 0 ? -1 : NAV.indexOf(nav[index - 1]);
  for (let at = position; at > previous; at--) if (NAV[at].section !== undefined) return NAV[at].section;
  return undefined;
}

function isActive(item: NavItem, path: string): boolean {
  return item.to === '/' ? path === '/' : path === item.to || path.startsWith(`${item.to}/`);
}

function ThemeButton() {
  const { theme, cycle } = useTheme();
  const Icon = theme === 'light' ? SunIcon : theme === 'dark' ? MoonIcon : MonitorIcon;
  const label = theme === 'light' ? 'Light' : theme === 'dark' ? 'Dark' : 'System';
  return (
    <button type="button" className="btn btn-ghost" onClick={cycle} aria-label={`Theme: ${label}. Change theme`} title="Change theme">
      <Icon width={16} height={16} /> Theme: {label}
    </button>
  );
}

function Shell({ status, onLogout }: { status: AuthStatus | null; onLogout(): void }) {
  const { path } = useLocation();
  const can = useCan();
  // The sections whose every page is hidden lose their heading too.
  const nav = NAV.filter((item) => item.needs === undefined || can(item.needs));
  const [navOpen, setNavOpen] = useState(false);
  useEffect(() => setNavOpen(false), [path]);
  useEffect(() => {
    // The small-screen menu: focus its first link when it opens, close it with Escape.
    if (!navOpen) return;
    const timer = window.setTimeout(() => document.querySelector<HTMLElement>('.sidebar .nav a')?.focus(), 50);
    const onKey = (event: KeyboardEvent): void => {
      if (event.key === 'Escape') setNavOpen(false);
    };
    window.addEventListener('keydown', onKey);
    return () => {
      window.clearTimeout(timer);
      window.removeEventListener('keydown', onKey);
    };
  }, [navOpen]);
  useEffect(() => {
    // Focus the page's heading on navigation so keyboard and screen-reader users land on the new page.
    document.querySelector<HTMLElement>('#main h1')?.focus({ preventScroll: true });
  }, [path]);
  return (
    <div className={`shell ${navOpen ? 'nav-open' : ''}`}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <aside className="sidebar" aria-label="Main navigation">
        <Link to="/" className="brand">
          <img src="/favicon.svg" alt="" /> Heimdall
        </Link>
        <nav className="nav">
          {nav.map((item, index) => (
            <div key={item.to} style={{ display: 'contents' }}>
              {sectionOf(nav, index) === undefined ? null : <div className="nav-section">{sectionOf(nav, index)}</div>}
              <Link to={item.to} aria-current={isActive(item, path) ? 'page' : undefined}>
                <item.icon width={17} height={17} /> {item.label}
              </Link>
            </div>
          ))}
        </nav>
        <div className="sidebar-footer">
          <ThemeButton />
          {status?.user ? (
            <div className="muted small" title={`Signed in as ${status.user.username}`} data-testid="signed-in-as">
              {status.user.display_name ?? status.user.username} · {status.role}
            </div>
          ) : null}
          {status?.auth_required === true ? (
            <button type="button" className="btn btn-ghost" onClick={onLogout}>
              <LogoutIcon width={16} height={16} /> Sign out
            </button>
          ) : null}
        </div>
      </aside>
      {navOpen ? <div className="scrim" onClick={() => setNavOpen(false)} aria-hidden="true" /> : null}
      <div style={{ minWidth: 0 }}>
        <div className="topbar">
          <button type="button" className="btn btn-ghost icon-btn" aria-label="Open navigation" aria-expanded={navOpen} onClick={() => setNavOpen(true)}>
            <MenuIcon />
          </button>
          <strong>Heimdall</strong>
        </div>
        <main id="main" className="main" tabIndex={-1}>
          <div className="content">{pageFor(path)}</div>
        </main>
      </div>
    </div>
  );
}

export function App() {
  // undefined: still asking; null: the auth route failed (the pages say why).
  const [status, setStatus] = useState<AuthStatus | null | undefined>(undefined);
  const [blocked, setBlocked] = useState<string | null | undefined>(undefined);
  const check = useCallback(() => {
    auth.status().then(
      (value) => {
        setStatus(value);
        // No token and not authenticated: this client is not on loopback, every data call would be refused.
        setBlocked(!value.auth_required && !value.authenticated ? null : undefined);
      },
      (error: unknown) => {
        setStatus(null);
        if (error instanceof ApiError && error.status === 403) setBlocked(error.message);
      },
    );
  }, []);
  useEffect(check, [check]);
  useEffect(() => onUnauthorized(check), [check]);

  const logout = async (): Promise<void> => {
    let endSession: string | undefined;
    try {
      endSession = (await auth.logout())?.end_session_url;
    } finally {
      // Signed in through single sign-on: end the provider's session too, which sends the browser back here.
      if (endSession !== undefined) window.location.assign(endSession);
      else {
        setStatus({ ...status, auth_required: true, authenticated: false, access: [] });
        navigate('/');
      }
    }
  };

  let body: ReactNode;
  if (status === undefined) {
    body = (
      <div className="login">
        <Loading label="Connecting to the gateway…" rows={2} />
      </div>
    );
  } else if (blocked !== undefined && status?.setup_required === true) {
    body = <SetupPage onDone={check} />;
  } else if (blocked !== undefined) {
    body = <BlockedPage message={blocked} />;
  } else if (status !== null && status.auth_required && !status.authenticated) {
    body = <LoginPage status={status} onLogin={check} />;
  } else {
    body = (
      <AccessProvider status={status}>
        <Shell status={status} onLogout={() => void logout()} />
      </AccessProvider>
    );
  }
  return (
    <>
      {body}
      <Toasts />
    </>
  );
}
