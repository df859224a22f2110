import { lazy, Suspense } from 'react';
import { Loading } from '../ui';

// GraphiQL is large: it loads only when this screen opens, never in the first load.
const Explorer = lazy(() => import('../graphiql'));

export default function SchemaExplorer() {
  return (
    <section aria-labelledby="schema-title" className="explorer">
      <h1 id="schema-title">Schema explorer</h1>
      <Suspense fallback={<Loading />}>
        <Explorer />
      </Suspense>
    </section>
  );
}
