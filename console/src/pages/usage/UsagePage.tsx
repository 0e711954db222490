import { Coming } from '../../components/ui.tsx';

export default function UsagePage() {
  return <Coming title="Usage" what="Calls, errors, cost and latency over time, with CSV download." />;
}
