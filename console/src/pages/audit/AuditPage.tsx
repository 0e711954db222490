import { Coming } from '../../components/ui.tsx';

export default function AuditPage() {
  return <Coming title="Audit log" what="Who changed what, with a before/after view." />;
}
