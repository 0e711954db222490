import { Link } from 'react-router';
import { EmptyState, PageHeader, Panel } from '../../components/ui.tsx';

export default function NotFoundPage() {
  return (
    <>
      <PageHeader title="Page not found" />
      <Panel>
        <EmptyState title="There is no console page here.">
          <Link to="/">Go to the overview</Link>
        </EmptyState>
      </Panel>
    </>
  );
}
