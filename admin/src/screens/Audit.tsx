import { type FormEvent, useState } from 'react';
import { graphql } from '../gql';
import type { ActorKind, AuditAction, AuditEventFilter } from '../gql/graphql';
import { useQuery } from '../hooks';
import { humanize, zonedToIso } from '../logic';
import { Link } from '../router';
import { Failure, Loading, Pager, SelectField, TextField, useCursors } from '../ui';
import { useDateTime, useViewer } from '../viewer';

const AuditActionsDocument = graphql(`
  query AuditActions {
    __type(name: "AuditAction") {
      enumValues {
        name
      }
    }
  }
`);

const AuditEventsDocument = graphql(`
  query AuditEvents($filter: AuditEventFilter, $first: Int, $after: String) {
    auditEvents(filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          seq
          occurredAt
          actorKind
          actorId
          requestId
          action
          targetType
          targetId
          changes {
            field
            before
            after
          }
        }
      }
    }
  }
`);

const AuditTargetDocument = graphql(`
  query AuditTarget($id: ID!) {
    node(id: $id) {
      __typename
      id
      ... on User {
        firstName
        lastName
        email
        status
      }
      ... on Patient {
        firstName
        lastName
        dateOfBirth
      }
      ... on Role {
        name
      }
      ... on ApiConsumer {
        name
        active
      }
      ... on Organization {
        name
      }
    }
  }
`);

const PAGE = 25;
const KINDS: ActorKind[] = ['USER', 'CONSUMER', 'SUPPORT', 'SYSTEM'];

const show = (value: unknown) => (value === null || value === undefined ? '—' : typeof value === 'string' ? value : JSON.stringify(value));

function Target({ id }: { id: string }) {
  const query = useQuery(AuditTargetDocument, { id });
  const node = query.data?.node;
  if (query.loading && !query.data) return <Loading />;
  if (!node) return <Failure networkError={query.networkError} text={query.failure ?? 'The target cannot be read: it no longer exists or you may not see it.'} />;
  let label = node.__typename as string;
  let to: string | null = null;
  if (node.__typename === 'User') {
    label = `Member ${node.firstName} ${node.lastName} (${node.email}, ${humanize(node.status)})`;
    to = `/members/${encodeURIComponent(node.id)}`;
  } else if (node.__typename === 'Patient') {
    label = `Patient ${node.firstName} ${node.lastName}, born ${node.dateOfBirth}`;
    to = `/patients/${encodeURIComponent(node.id)}`;
  } else if (node.__typename === 'Role') label = `Role ${node.name}`;
  else if (node.__typename === 'ApiConsumer') label = `API consumer ${node.name}${node.active ? '' : ' (deactivated)'}`;
  else if (node.__typename === 'Organization') label = `Organization ${node.name}`;
  return <p>{to ? <Link to={to}>{label}</Link> : label}</p>;
}

export default function Audit() {
  const viewer = useViewer();
  const when = useDateTime();
  const zone = viewer.organization.timeZone;
  const actions = useQuery(AuditActionsDocument);
  const [draft, setDraft] = useState({ action: '', actorKind: '', targetType: '', targetId: '', since: '', until: '' });
  const [filter, setFilter] = useState<AuditEventFilter>({});
  const { cursors, setCursors, after } = useCursors();
  const query = useQuery(AuditEventsDocument, { filter, first: PAGE, after });
  const apply = (next: typeof draft) => {
    setFilter({
      action: (next.action || null) as AuditAction | null,
      actorKind: (next.actorKind || null) as ActorKind | null,
      targetType: next.targetType.trim() || null,
      targetId: next.targetId.trim() || null,
      since: zonedToIso(next.since, zone),
      until: zonedToIso(next.until, zone),
    });
    setCursors([null]);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    apply(draft);
  };
  const follow = (targetId: string) => {
    const next = { ...draft, targetId, targetType: '', action: '' };
    setDraft(next);
    apply(next);
  };
  const connection = query.data?.auditEvents;
  const actionNames = actions.data?.__type?.enumValues?.map((value) => value.name) ?? [];
  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit log</h1>
      <form onSubmit={submit} role="search" aria-label="Filter the audit log" className="filters" noValidate>
        <SelectField label="Action" value={draft.action} onChange={(e) => setDraft({ ...draft, action: e.target.value })} options={[{ value: '', label: 'Any action' }, ...actionNames.map((name) => ({ value: name, label: humanize(name) }))]} />
        <SelectField label="Actor" value={draft.actorKind} onChange={(e) => setDraft({ ...draft, actorKind: e.target.value })} options={[{ value: '', label: 'Anyone' }, ...KINDS.map((kind) => ({ value: kind, label: humanize(kind) }))]} />
        <TextField label="Target type" value={draft.targetType} onChange={(e) => setDraft({ ...draft, targetType: e.target.value })} />
        <TextField label="Target id" value={draft.targetId} onChange={(e) => setDraft({ ...draft, targetId: e.target.value })} />
        <TextField label={`From (${zone})`} type="datetime-local" value={draft.since} onChange={(e) => setDraft({ ...draft, since: e.target.value })} />
        <TextField label={`Until (${zone})`} type="datetime-local" value={draft.until} onChange={(e) => setDraft({ ...draft, until: e.target.value })} />
        <button type="submit">Filter</button>
      </form>
      {filter.targetId ? (
        <section aria-labelledby="target-title">
          <h2 id="target-title">Followed target</h2>
          <Target id={filter.targetId} />
        </section>
      ) : null}
      {query.loading && !connection ? <Loading /> : null}
      <Failure networkError={query.networkError} text={query.failure} />
      {connection ? (
        <>
          <p role="status">
            {connection.totalCount} {connection.totalCount === 1 ? 'event' : 'events'}
          </p>
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Action</th>
                <th scope="col">Actor</th>
                <th scope="col">Target</th>
                <th scope="col">Changes</th>
              </tr>
            </thead>
            <tbody>
              {connection.edges.map(({ node }) => (
                <tr key={node.id}>
                  <td>{when(node.occurredAt)}</td>
                  <th scope="row">{humanize(node.action)}</th>
                  <td>
                    {humanize(node.actorKind)}
                    {node.actorId ? ` ${node.actorId}` : ''}
                  </td>
                  <td>
                    {node.targetType}
                    {node.targetId ? (
                      <>
                        {' '}
                        <button type="button" className="link" onClick={() => follow(node.targetId!)} aria-label={`Follow ${node.targetType} ${node.targetId} (event ${node.seq})`}>
                          Follow
                        </button>
                      </>
                    ) : null}
                  </td>
                  <td>
                    {node.changes.length ? (
                      <ul className="changes">
                        {node.changes.map((change) => (
                          <li key={change.field}>
                            {change.field}: {show(change.before)} → {show(change.after)}
                          </li>
                        ))}
                      </ul>
                    ) : (
                      '—'
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager cursors={cursors} setCursors={setCursors} pageInfo={connection.pageInfo} previous="Newer events" next="Older events" />
        </>
      ) : null}
    </section>
  );
}
