/**
 * The card of a cursor-paged list (lib/use-paged-list.ts): its error, loading and empty states,
 * the rows the page draws, and the button that loads the next page.
 */
import type { ReactNode } from 'react';
import type { PagedList } from '../lib/use-paged-list.js';
import { Button, ErrorState, Loading, errorMessage } from './ui.js';

export function PagedListCard<T extends { id: string | number }>({
  list,
  errorTitle,
  loadingRows = 4,
  empty,
  moreLabel,
  children,
}: {
  list: PagedList<T>;
  errorTitle: string;
  loadingRows?: number;
  /** What an empty list shows (an EmptyState). */
  empty: ReactNode;
  moreLabel: string;
  /** The rows (a table). */
  children: (rows: T[]) => ReactNode;
}) {
  const { first, rows, cursor, busy, error, loadMore } = list;
  return (
    <div className="card flush">
      {first.data === undefined && first.error !== undefined ? (
        <div style={{ padding: 16 }}>
          <ErrorState error={first.error} onRetry={first.reload} title={errorTitle} />
        </div>
      ) : first.data === undefined ? (
        <div style={{ padding: 16 }}>
          <Loading rows={loadingRows} />
        </div>
      ) : rows.length === 0 ? (
        empty
      ) : (
        children(rows)
      )}
      {cursor === null ? null : (
        <div className="row" style={{ justifyContent: 'center', padding: 12 }}>
          <Button onClick={() => void loadMore()} busy={busy}>
            {moreLabel}
          </Button>
          {error === undefined ? null : <span className="field-error">{errorMessage(error)}</span>}
        </div>
      )}
    </div>
  );
}
