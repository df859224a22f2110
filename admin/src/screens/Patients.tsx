import { type FormEvent, useState } from 'react';
import { graphql } from '../gql';
import type { PatientFilter } from '../gql/graphql';
import { useQuery } from '../hooks';
import { Link } from '../router';
import { Failure, Loading, Pager, TextField, useCursors } from '../ui';

const PatientsDocument = graphql(`
  query Patients($filter: PatientFilter, $first: Int, $after: String) {
    patients(filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          firstName
          lastName
          dateOfBirth
          email
          phone
          healthCardNumber
          portalAccess
        }
      }
    }
  }
`);

const PAGE = 20;

export default function Patients() {
  const [search, setSearch] = useState('');
  const [dateOfBirth, setDateOfBirth] = useState('');
  const [healthCard, setHealthCard] = useState('');
  const [filter, setFilter] = useState<PatientFilter>({});
  const { cursors, setCursors, after } = useCursors();
  const query = useQuery(PatientsDocument, { filter, first: PAGE, after });
  const apply = (event: FormEvent) => {
    event.preventDefault();
    setFilter({ search: search.trim() || null, dateOfBirth: dateOfBirth || null, healthCardNumber: healthCard.trim() || null });
    setCursors([null]);
  };
  const connection = query.data?.patients;
  return (
    <section aria-labelledby="patients-title">
      <h1 id="patients-title">Patients</h1>
      <p>
        <Link to="/patients/new">Register a patient</Link>
      </p>
      <form onSubmit={apply} role="search" aria-label="Find patients" className="filters" noValidate>
        <TextField label="Search names" value={search} onChange={(e) => setSearch(e.target.value)} />
        <TextField label="Date of birth" type="date" value={dateOfBirth} onChange={(e) => setDateOfBirth(e.target.value)} />
        <TextField label="Health card number" value={healthCard} onChange={(e) => setHealthCard(e.target.value)} />
        <button type="submit">Find</button>
      </form>
      {query.loading && !connection ? <Loading /> : null}
      <Failure networkError={query.networkError} text={query.failure} />
      {connection ? (
        <>
          <p role="status">
            {connection.totalCount} {connection.totalCount === 1 ? 'patient' : 'patients'}
          </p>
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Date of birth</th>
                <th scope="col">Health card</th>
                <th scope="col">Email</th>
                <th scope="col">Portal</th>
              </tr>
            </thead>
            <tbody>
              {connection.edges.map(({ node }) => (
                <tr key={node.id}>
                  <th scope="row">
                    <Link to={`/patients/${encodeURIComponent(node.id)}`}>
                      {node.firstName} {node.lastName}
                    </Link>
                  </th>
                  <td>{node.dateOfBirth}</td>
                  <td>{node.healthCardNumber ?? '—'}</td>
                  <td>{node.email ?? '—'}</td>
                  <td>{node.portalAccess ? 'Yes' : 'No'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager cursors={cursors} setCursors={setCursors} pageInfo={connection.pageInfo} />
        </>
      ) : null}
    </section>
  );
}
