import { Coming } from '../../components/ui.tsx';

export default function JobsPage() {
  return <Coming title="Jobs" what="Background queues, failed and dead-letter jobs, retry and redrive." />;
}
