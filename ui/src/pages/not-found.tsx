import { EmptyState, PageHeader } from '../components/ui.js';
import { Link, useTitle } from '../lib/router.js';

export function NotFoundPage() {
  useTitle('Not found');
  return (
    <>
      <PageHeader title="Page not found" />
      <div className="card">
        <EmptyState title="There is no dashboard page here" action={<Link to="/">Go to the overview</Link>}>
          Check the address, or pick a page in the navigation.
        </EmptyState>
      </div>
    </>
  );
}
