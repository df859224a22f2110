// The schedules a screen may show: active practitioners and service accounts (shared
// schedules), chosen by name (the first 100 of each); the choice is kept in the address
// (?owner=…).
import { graphql } from '../gql';
import { useQuery } from '../hooks';
import { SelectField } from '../ui';

const ScheduleOwnersDocument = graphql(`
  query ScheduleOwners {
    practitioners: users(filter: { status: ACTIVE, type: PRACTITIONER }, first: 100) {
      edges {
        node {
          id
          type
          firstName
          lastName
          displayName
        }
      }
    }
    shared: users(filter: { status: ACTIVE, type: SERVICE_ACCOUNT }, first: 100) {
      edges {
        node {
          id
          type
          firstName
          lastName
          displayName
        }
      }
    }
  }
`);

export type Owner = { id: string; type: string; firstName: string; lastName: string; displayName?: string | null };

export function ownerName(owner: Owner | undefined | null): string {
  if (!owner) return '—';
  if (owner.type === 'SERVICE_ACCOUNT') return `${owner.displayName || `${owner.firstName} ${owner.lastName}`} (shared schedule)`;
  return `${owner.firstName} ${owner.lastName}`;
}

/** The schedules to choose from; `skip` for a viewer who sees only its own. */
export function useOwners(skip = false) {
  const query = useQuery(ScheduleOwnersDocument, undefined, skip);
  const owners: Owner[] = [...(query.data?.practitioners?.edges ?? []), ...(query.data?.shared?.edges ?? [])].map(({ node }) => node);
  return { ...query, owners };
}

export function ownerFromAddress(): string {
  return new URLSearchParams(window.location.search).get('owner') ?? '';
}

export function keepOwnerInAddress(id: string): void {
  const url = new URL(window.location.href);
  if (id) url.searchParams.set('owner', id);
  else url.searchParams.delete('owner');
  window.history.replaceState(null, '', url.toString());
}

export function OwnerPicker({ owners, value, onChange }: { owners: Owner[]; value: string; onChange: (id: string) => void }) {
  return (
    <SelectField
      label="Practitioner or shared schedule"
      value={value}
      onChange={(event) => onChange(event.target.value)}
      options={[{ value: '', label: 'Choose a schedule' }, ...owners.map((owner) => ({ value: owner.id, label: ownerName(owner) }))]}
    />
  );
}
