/**
 * Loads data with loading / error / refresh states, optional polling that pauses
 * while the tab is hidden, and stale responses dropped when inputs change.
 */
import { useCallback, useEffect, useRef, useState } from 'react';

export interface Resource<T> {
  data: T | undefined;
  error: Error | undefined;
  /** True until the first answer (data or error) for the current inputs. */
  loading: boolean;
  /** True while any request is in flight (first load or refresh). */
  fetching: boolean;
  /** Time of the last successful load, ms epoch. */
  updatedAt: number | undefined;
  reload(): void;
  setData(update: (previous: T | undefined) => T | undefined): void;
}

export interface ResourceOptions {
  /** Reload every N ms while the page is visible. */
  pollMs?: number;
  /** Skip loading while false. */
  enabled?: boolean;
}

export function useResource<T>(load: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[], options: ResourceOptions = {}): Resource<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [fetching, setFetching] = useState(false);
  const [updatedAt, setUpdatedAt] = useState<number | undefined>(undefined);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const enabled = options.enabled ?? true;

  // New inputs: forget the old answer's loading state (keep the data to avoid flicker).
  useEffect(() => {
    setLoading(true);
    setError(undefined);
  }, deps); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    if (!enabled) return;
    const controller = new AbortController();
    setFetching(true);
    loadRef.current(controller.signal).then(
      (value) => {
        if (controller.signal.aborted) return;
        setData(() => value);
        setError(undefined);
        setLoading(false);
        setFetching(false);
        setUpdatedAt(Date.now());
      },
      (reason: unknown) => {
        if (controller.signal.aborted) return;
        setError(reason instanceof Error ? reason : new Error(String(reason)));
        setLoading(false);
        setFetching(false);
      },
    );
    return () => controller.abort();
  }, [...deps, tick, enabled]); // eslint-disable-line react-hooks/exhaustive-deps

  useEffect(() => {
    if (options.pollMs === undefined || !enabled) return;
    const timer = window.setInterval(() => {
      if (document.visibilityState === 'visible') setTick((value) => value + 1);
    }, options.pollMs);
    return () => window.clearInterval(timer);
  }, [options.pollMs, enabled]);

  const reload = useCallback(() => setTick((value) => value + 1), []);
  const update = useCallback((change: (previous: T | undefined) => T | undefined) => setData(change), []);
  return { data, error, loading, fetching, updatedAt, reload, setData: update };
}
