import { useState } from 'react';
import { graphql } from '../gql';
import type { BillingStatementQuery } from '../gql/graphql';
import { useQuery } from '../hooks';
import { billingCsv, monthIn } from '../logic';
import { Failure, Loading, TextField } from '../ui';
import { useViewer } from '../viewer';

const BillingStatementDocument = graphql(`
  query BillingStatement($month: String!) {
    billingStatement(month: $month) {
      month
      billedTotal
      underLicenseManagement
      lines {
        license
        label
        billed
        count
        users {
          id
          email
          firstName
          lastName
        }
      }
      forecast {
        month
        billedTotal
        underLicenseManagement
        lines {
          license
          label
          billed
          count
          users {
            id
            email
            firstName
            lastName
          }
        }
      }
    }
  }
`);

type Statement = NonNullable<BillingStatementQuery['billingStatement']>;

function Lines({ id, title, part }: { id: string; title: string; part: Statement | Statement['forecast'] }) {
  return (
    <section aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {!part.underLicenseManagement ? <p>The organization is not under license management: nothing is billed by license.</p> : null}
      {part.lines.length ? (
        <table>
          <thead>
            <tr>
              <th scope="col">License</th>
              <th scope="col">Billed</th>
              <th scope="col">Users</th>
              <th scope="col">Who</th>
            </tr>
          </thead>
          <tbody>
            {part.lines.map((line) => (
              <tr key={line.label}>
                <th scope="row">{line.label}</th>
                <td>{line.billed ? 'Yes' : 'No'}</td>
                <td>{line.count}</td>
                <td>{(line.users ?? []).map((user) => `${user.firstName} ${user.lastName}`).join(', ') || '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <p>Billed users: {part.billedTotal}</p>
    </section>
  );
}

export default function Billing() {
  const viewer = useViewer();
  const [month, setMonth] = useState(() => monthIn(new Date(), viewer.organization.timeZone));
  const valid = /^\d{4}-\d{2}$/.test(month);
  const query = useQuery(BillingStatementDocument, { month }, !valid);
  const statement = valid ? query.data?.billingStatement : null;
  const download = () => {
    if (!statement) return;
    const blob = new Blob([billingCsv(statement, statement.forecast)], { type: 'text/csv' });
    const url = URL.createObjectURL(blob);
    const link = document.createElement('a');
    link.href = url;
    link.download = `billing-${statement.month}.csv`;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };
  return (
    <section aria-labelledby="billing-title">
      <h1 id="billing-title">Billing statement</h1>
      <TextField label="Month" type="month" value={month} onChange={(e) => setMonth(e.target.value)} errors={valid ? undefined : ['Choose a month.']} hint="The statement counts the licenses in effect on the first day of the month." />
      {query.loading && !statement ? <Loading /> : null}
      <Failure networkError={query.networkError} text={query.failure} />
      {statement ? (
        <>
          <Lines id="statement-title" title={`Statement for ${statement.month}`} part={statement} />
          <Lines id="forecast-title" title={`Forecast for ${statement.forecast.month}`} part={statement.forecast} />
          <button type="button" onClick={download}>
            Download as CSV
          </button>
        </>
      ) : null}
    </section>
  );
}
