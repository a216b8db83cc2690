/**
 * What the signed-in user may do, from /api/auth/status's `access` (the server's access table for
 * their role and token scopes): pages show only the buttons the server would accept.
 */
import { createContext, useContext, type ReactNode } from 'react';
import type { AuthStatus } from '../api/types.js';

const AccessContext = createContext<AuthStatus | null>(null);

export function AccessProvider({ status, children }: { status: AuthStatus | null; children: ReactNode }) {
  return <AccessContext.Provider value={status}>{children}</AccessContext.Provider>;
}

/** `can('POST /api/providers')`: true when the server lets this user make that call (for a member, within their team). */
export function useCan(): (route: string) => boolean {
  const status = useContext(AccessContext);
  return (route) => status?.access === undefined || status.access.includes(route);
}

export function useAuthStatus(): AuthStatus | null {
  return useContext(AccessContext);
}
