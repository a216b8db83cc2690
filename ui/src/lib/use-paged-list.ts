/**
 * A cursor-paged list (`{data, next_cursor}`): the first page loaded and polled like any resource,
 * older pages added on demand ("Load more"), rows of the first page never repeated, and the pages
 * dropped when the filters (deps) change.
 */
import { useEffect, useState } from 'react';
import type { ListResponse } from '../api/types.js';
import { useResource, type Resource, type ResourceOptions } from './use-resource.js';

export interface PagedList<T> {
  first: Resource<ListResponse<T>>;
  rows: T[];
  /** The next page's cursor; null when there is none. */
  cursor: string | null;
  busy: boolean;
  /** The last "load more" failure. */
  error: unknown;
  loadMore(): Promise<void>;
}

export function usePagedList<T extends { id: string | number }>(
  load: (cursor: string | undefined, signal?: AbortSignal) => Promise<ListResponse<T>>,
  deps: readonly unknown[],
  options: ResourceOptions = {},
): PagedList<T> {
  const first = useResource((signal) => load(undefined, signal), deps, options);
  const [more, setMore] = useState<{ rows: T[]; cursor: string | null; busy: boolean; error?: unknown }>({ rows: [], cursor: null, busy: false });
  useEffect(() => setMore({ rows: [], cursor: null, busy: false }), deps); // eslint-disable-line react-hooks/exhaustive-deps
  const firstRows = first.data?.data ?? [];
  const rows = [...firstRows, ...more.rows.filter((row) => !firstRows.some((item) => item.id === row.id))];
  const cursor = more.rows.length === 0 ? (first.data?.next_cursor ?? null) : more.cursor;
  const loadMore = async (): Promise<void> => {
    if (cursor === null) return;
    setMore((state) => ({ ...state, busy: true }));
    try {
      const page = await load(cursor);
      setMore((state) => ({ rows: [...state.rows, ...page.data], cursor: page.next_cursor ?? null, busy: false }));
    } catch (error) {
      setMore((state) => ({ ...state, busy: false, error }));
    }
  };
  return { first, rows, cursor, busy: more.busy, error: more.error, loadMore };
}
