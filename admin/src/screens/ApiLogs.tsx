import { type FormEvent, Fragment, useState } from 'react';
import { graphql } from '../gql';
import type { ApiLogFilter } from '../gql/graphql';
import { useQuery } from '../hooks';
import { zonedToIso } from '../logic';
import { Failure, Loading, Pager, SelectField, TextField, useCursors } from '../ui';
import { useDateTime, useViewer } from '../viewer';

const ApiLogConsumersDocument = graphql(`
  query ApiLogConsumers {
    apiConsumers {
      id
      name
    }
  }
`);

const ApiLogsDocument = graphql(`
  query ApiLogs($filter: ApiLogFilter, $first: Int, $after: String) {
    apiLogs(filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          createdAt
          issuer
          keyId
          keyFingerprint
          requestId
          clientRequestId
          method
          operationName
          query
          variables
          status
          responseBody
          durationMs
        }
      }
    }
  }
`);

const PAGE = 25;

function pretty(text: string | null | undefined): string {
  if (!text) return '';
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

export default function ApiLogs() {
  const viewer = useViewer();
  const when = useDateTime();
  const zone = viewer.organization.timeZone;
  const consumers = useQuery(ApiLogConsumersDocument);
  const initialConsumer = new URLSearchParams(window.location.search).get('consumer') ?? '';
  const [draft, setDraft] = useState({ consumerId: initialConsumer, since: '', until: '', status: '', operationName: '', requestId: '' });
  const [filter, setFilter] = useState<ApiLogFilter>(initialConsumer ? { consumerId: initialConsumer } : {});
  const [statusError, setStatusError] = useState<string[] | undefined>(undefined);
  const { cursors, setCursors, after } = useCursors();
  const [open, setOpen] = useState<string | null>(null);
  const query = useQuery(ApiLogsDocument, { filter, first: PAGE, after });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const status = draft.status.trim();
    if (status && !/^\d{3}$/.test(status)) {
      setStatusError(['An HTTP status is three digits, such as 200 or 400.']);
      return;
    }
    setStatusError(undefined);
    setFilter({
      consumerId: draft.consumerId || null,
      since: zonedToIso(draft.since, zone),
      until: zonedToIso(draft.until, zone),
      status: status ? Number(status) : null,
      operationName: draft.operationName.trim() || null,
      requestId: draft.requestId.trim() || null,
    });
    setCursors([null]);
  };
  const connection = query.data?.apiLogs;
  return (
    <section aria-labelledby="api-logs-title">
      <h1 id="api-logs-title">API logs</h1>
      <p>One row per request of an API consumer. {viewer.kind === 'SUPPORT' ? 'The support account sees who called what and how it ended, not the content.' : ''}</p>
      <form onSubmit={submit} role="search" aria-label="Filter the API logs" className="filters" noValidate>
        <SelectField label="Consumer" value={draft.consumerId} onChange={(e) => setDraft({ ...draft, consumerId: e.target.value })} options={[{ value: '', label: 'Any consumer' }, ...(consumers.data?.apiConsumers ?? []).map((consumer) => ({ value: consumer.id, label: consumer.name }))]} />
        <TextField label={`From (${zone})`} type="datetime-local" value={draft.since} onChange={(e) => setDraft({ ...draft, since: e.target.value })} />
        <TextField label={`Until (${zone})`} type="datetime-local" value={draft.until} onChange={(e) => setDraft({ ...draft, until: e.target.value })} />
        <TextField label="HTTP status" inputMode="numeric" value={draft.status} onChange={(e) => setDraft({ ...draft, status: e.target.value })} errors={statusError} />
        <TextField label="Operation name" value={draft.operationName} onChange={(e) => setDraft({ ...draft, operationName: e.target.value })} />
        <TextField label="Request id" value={draft.requestId} onChange={(e) => setDraft({ ...draft, requestId: e.target.value })} />
        <button type="submit">Filter</button>
      </form>
      {query.loading && !connection ? <Loading /> : null}
      <Failure networkError={query.networkError} text={query.failure} />
      {connection ? (
        <>
          <p role="status">
            {connection.totalCount} {connection.totalCount === 1 ? 'request' : 'requests'}
          </p>
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Consumer</th>
                <th scope="col">Operation</th>
                <th scope="col">Status</th>
                <th scope="col">Duration</th>
                <th scope="col">Request id</th>
              </tr>
            </thead>
            <tbody>
              {connection.edges.map(({ node }) => (
                <Fragment key={node.requestId}>
                  <tr>
                    <td>{when(node.createdAt)}</td>
                    <td>
                      {node.issuer}
                      {node.keyId ? ` (key ${node.keyId})` : ''}
                    </td>
                    <th scope="row">{node.operationName ?? '(anonymous)'}</th>
                    <td>{node.status}</td>
                    <td>{Math.round(node.durationMs)} ms</td>
                    <td>
                      <button type="button" className="link" aria-expanded={open === node.requestId} onClick={() => setOpen(open === node.requestId ? null : node.requestId)}>
                        {node.requestId}
                      </button>
                    </td>
                  </tr>
                  {open === node.requestId ? (
                    <tr>
                      <td colSpan={6}>
                        <section aria-label={`Request ${node.requestId}`} className="detail">
                          <p>
                            {node.method}; key fingerprint {node.keyFingerprint ?? '—'}; the caller's request id {node.clientRequestId ?? '—'}.
                          </p>
                          {node.query === null && node.responseBody === null ? (
                            <p>The content of a request is shown to the owner only.</p>
                          ) : (
                            <>
                              <h2>Request</h2>
                              <pre tabIndex={0}>{node.query}</pre>
                              <h2>Variables</h2>
                              <pre tabIndex={0}>{JSON.stringify(node.variables ?? {}, null, 2)}</pre>
                              <h2>Response</h2>
                              <pre tabIndex={0}>{pretty(node.responseBody)}</pre>
                            </>
                          )}
                        </section>
                      </td>
                    </tr>
                  ) : null}
                </Fragment>
              ))}
            </tbody>
          </table>
          <Pager cursors={cursors} setCursors={setCursors} pageInfo={connection.pageInfo} previous="Newer requests" next="Older requests" />
        </>
      ) : null}
    </section>
  );
}
