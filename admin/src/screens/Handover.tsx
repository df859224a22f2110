import { graphql } from '../gql';
import { useQuery } from '../hooks';
import { humanize } from '../logic';
import { Link } from '../router';
import { Failure, Loading } from '../ui';
import { useDateTime } from '../viewer';

const HandoverDocument = graphql(`
  query Handover($id: ID!) {
    handoverReport(userId: $id) {
      userId
      deactivations {
        auditEventId
        deactivatedAt
        reactivatedAt
        actorKind
        items {
          outcome
          itemId
          toUserId
          at
        }
      }
      handedOverAhead {
        outcome
        itemId
        toUserId
        at
      }
    }
  }
`);

export default function Handover({ params }: { params: Record<string, string> }) {
  const when = useDateTime();
  const query = useQuery(HandoverDocument, { id: params.id });
  if (query.loading && !query.data) return <Loading />;
  const report = query.data?.handoverReport;
  if (!report) return <Failure networkError={query.networkError} text={query.failure ?? 'There is no report for this member.'} />;
  const items = (rows: readonly { outcome: string; itemId: string; toUserId?: string | null; at: string }[]) => (
    <table>
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Outcome</th>
          <th scope="col">Item</th>
          <th scope="col">To</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={`${row.itemId}-${row.at}`}>
            <td>{when(row.at)}</td>
            <td>{humanize(row.outcome)}</td>
            <td>{row.itemId}</td>
            <td>{row.toUserId ?? '—'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
  return (
    <section aria-labelledby="handover-title">
      <p>
        <Link to={`/members/${encodeURIComponent(params.id)}`}>Back to the member</Link>
      </p>
      <h1 id="handover-title">Handover report</h1>
      {report.deactivations.length === 0 ? <p>This member was never deactivated.</p> : null}
      {report.deactivations.map((deactivation) => (
        <section key={deactivation.auditEventId} aria-label={`Deactivation of ${when(deactivation.deactivatedAt)}`}>
          <h2>
            Deactivated {when(deactivation.deactivatedAt)}
            {deactivation.reactivatedAt ? `, reactivated ${when(deactivation.reactivatedAt)}` : ''}
          </h2>
          {deactivation.items.length ? items(deactivation.items) : <p>Nothing was handed over.</p>}
        </section>
      ))}
      {report.handedOverAhead.length ? (
        <>
          <h2>Handed over ahead of a deactivation</h2>
          {items(report.handedOverAhead)}
        </>
      ) : null}
    </section>
  );
}
