// The one GraphiQL of the project: the admin's schema explorer and the page that
// `GET /graphql` shows in a browser. Bundled, with its editor workers served by the
// same server, so it works on a network without internet.
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import { GraphiQL } from 'graphiql';
import { readToken } from './session';

async function fetcher(params: unknown, options?: { headers?: Record<string, unknown> }) {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  const token = readToken();
  if (token) headers.authorization = `Bearer ${token}`;
  for (const [name, value] of Object.entries(options?.headers ?? {})) headers[name.toLowerCase()] = String(value);
  const response = await fetch('/graphql', { method: 'POST', headers, body: JSON.stringify(params), credentials: 'omit' });
  return response.json();
}

export default function Explorer() {
  return (
    <div className="graphiql-host">
      <GraphiQL fetcher={fetcher} />
    </div>
  );
}
