import { Coming } from '../../components/ui.tsx';

export default function ProvidersPage() {
  return (
    <Coming title="Providers" what="Search, filter and edit providers, their keys, circuit and health." />
  );
}
