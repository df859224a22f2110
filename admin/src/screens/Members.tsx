import { type FormEvent, useState } from 'react';
import { graphql } from '../gql';
import type { License, UserStatus, UserType } from '../gql/graphql';
import { useQuery } from '../hooks';
import { humanize } from '../logic';
import { Link } from '../router';
import { Failure, Loading, Pager, SelectField, TextField, useCursors } from '../ui';
import { useCan, useDateTime } from '../viewer';

const MembersDocument = graphql(`
  query Members($filter: UserFilter, $first: Int, $after: String) {
    users(filter: $filter, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          email
          firstName
          lastName
          displayName
          type
          status
          license
          invitedAt
          deactivatedAt
        }
      }
    }
  }
`);

const PAGE = 20;

export default function Members() {
  const can = useCan();
  const when = useDateTime();
  const [status, setStatus] = useState<'' | UserStatus>('ACTIVE');
  const [type, setType] = useState<'' | UserType>('');
  const [license, setLicense] = useState<'' | License>('');
  const [searchText, setSearchText] = useState('');
  const [search, setSearch] = useState('');
  const { cursors, setCursors, after } = useCursors();
    const filter = { status: status || null, type: type || null, license: license || null, search: search || null };
  const query = useQuery(MembersDocument, { filter, first: PAGE, after });
  const users = query.data?.users;

  const applySearch = (event: FormEvent) => {
    event.preventDefault();
    setSearch(searchText.trim());
    setCursors([null]);
  };

  return (
    <section aria-labelledby="members-title">
      <h1 id="members-title">Members</h1>
      {can('EDIT_OTHER_USERS') ? (
        <p>
          <Link to="/members/invite" className="button">
            Invite a member
          </Link>
        </p>
      ) : null}
      <form className="filters" onSubmit={applySearch} role="search" aria-label="Members">
        <TextField label="Search names and emails" type="search" value={searchText} onChange={(e) => setSearchText(e.target.value)} />
        <SelectField
          label="Status"
          value={status}
          onChange={(e) => {
            setStatus(e.target.value as UserStatus | '');
            setCursors([null]);
          }}
          options={[
            { value: 'ACTIVE', label: 'Active' },
            { value: 'INVITED', label: 'Invited' },
            { value: 'DEACTIVATED', label: 'Deactivated' },
            { value: '', label: 'All' },
          ]}
        />
        <SelectField
          label="Type"
          value={type}
          onChange={(e) => {
            setType(e.target.value as UserType | '');
            setCursors([null]);
          }}
          options={[
            { value: '', label: 'All' },
            { value: 'STAFF', label: 'Staff' },
            { value: 'PRACTITIONER', label: 'Practitioner' },
            { value: 'SERVICE_ACCOUNT', label: 'Service account' },
          ]}
        />
        <SelectField
          label="License"
          value={license}
          onChange={(e) => {
            setLicense(e.target.value as License | '');
            setCursors([null]);
          }}
          options={[
            { value: '', label: 'All' },
            ...(['STAFF', 'CHR_LITE', 'CHR_LITE_VV', 'CHR_PLUS', 'LOCUM', 'CLINICAL_TRAINEE'] as const).map((value) => ({ value, label: humanize(value) })),
          ]}
        />
        <button type="submit">Search</button>
      </form>
      <Failure networkError={query.networkError} text={query.failure} />
      {query.loading && !users ? <Loading /> : null}
      {users ? (
        <>
          <p role="status">
            {users.totalCount} {users.totalCount === 1 ? 'member' : 'members'}
          </p>
          <table>
            <caption className="visually-hidden">Members, page {cursors.length}</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Type</th>
                <th scope="col">License</th>
                <th scope="col">Status</th>
                <th scope="col">Invited</th>
              </tr>
            </thead>
            <tbody>
              {users.edges.map(({ node }) => (
                <tr key={node.id}>
                  <td>
                    <Link to={`/members/${encodeURIComponent(node.id)}`}>{node.displayName || `${node.firstName} ${node.lastName}`}</Link>
                  </td>
                  <td>{node.email}</td>
                  <td>{humanize(node.type)}</td>
                  <td>{humanize(node.license)}</td>
                  <td>{humanize(node.status)}</td>
                  <td>{when(node.invitedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager cursors={cursors} setCursors={setCursors} pageInfo={users.pageInfo} />
        </>
      ) : null}
    </section>
  );
}
