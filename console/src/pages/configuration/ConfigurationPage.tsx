import { Coming } from '../../components/ui.tsx';

export default function ConfigurationPage() {
  return <Coming title="Configuration" what="Export the configuration as YAML, plan and apply a document." />;
}
