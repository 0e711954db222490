import { Coming } from '../../components/ui.tsx';

export default function ClientsPage() {
  return <Coming title="Clients" what="Create, rotate and revoke client keys; their usage and budgets." />;
}
