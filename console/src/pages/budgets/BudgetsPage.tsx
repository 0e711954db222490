import { Coming } from '../../components/ui.tsx';

export default function BudgetsPage() {
  return <Coming title="Budgets" what="Spend bars, thresholds and live budget alerts." />;
}
