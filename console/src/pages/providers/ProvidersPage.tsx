import { Route, Routes } from 'react-router';
import NotFoundPage from '../not-found/NotFoundPage.tsx';
import './providers.css';
import { ProviderCreate } from './ProviderCreate.tsx';
import { ProviderDetail } from './ProviderDetail.tsx';
import { ProviderList } from './ProviderList.tsx';

/** /console/providers: the list, /new, and /:slug (with /:slug/settings). */
export default function ProvidersPage() {
  return (
    <Routes>
      <Route index element={<ProviderList />} />
      <Route path="new" element={<ProviderCreate />} />
      <Route path=":slug/*" element={<ProviderDetail />} />
      <Route path="*" element={<NotFoundPage />} />
    </Routes>
  );
}
