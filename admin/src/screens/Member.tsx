import { type FormEvent, useEffect, useState } from 'react';
import { run } from '../api';
import { graphql } from '../gql';
import type { Permission } from '../gql/graphql';
import { useQuery } from '../hooks';
import { describeErrors, errorsByField, humanize, unplacedErrors } from '../logic';
import { Link } from '../router';
import { Failure, Loading, Message, TextField } from '../ui';
import { useCan, useDateTime, useViewer } from '../viewer';
import SecondFactorReset from './SecondFactorReset';

const MemberDocument = graphql(`
  query Member($id: ID!) {
    user(id: $id) {
      id
      email
      type
      classification
      status
      firstName
      lastName
      displayName
      title
      position
      billingNumber
      license
      pendingLicense
      pendingLicenseEffectiveOn
      invitedAt
      acceptedAt
      deactivatedAt
      isOwner
      twoFactorEnabled
      roles {
        id
        name
      }
      extraPermissions
      permissions
      licenseHistory {
        kind
        changedAt
        changedBy
        fromLicense
        toLicense
        effectiveOn
        cancelledAt
      }
    }
    roles {
      id
      name
    }
  }
`);

const UpdateMemberDocument = graphql(`
  mutation UpdateMember($input: UpdateUserInput!) {
    updateUser(input: $input) {
      user {
        id
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

const ResendInvitationDocument = graphql(`
  mutation ResendInvitation($input: ResendInvitationInput!) {
    resendInvitation(input: $input) {
      user {
        id
        invitedAt
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

const AssignRolesDocument = graphql(`
  mutation AssignRoles($input: AssignRolesInput!) {
    assignRoles(input: $input) {
      user {
        id
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

const GrantPermissionDocument = graphql(`
  mutation GrantPermission($input: GrantPermissionInput!) {
    grantPermission(input: $input) {
      user {
        id
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

const RevokePermissionDocument = graphql(`
  mutation RevokePermission($input: RevokePermissionInput!) {
    revokePermission(input: $input) {
      user {
        id
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

const ReactivateDocument = graphql(`
  mutation Reactivate($input: ReactivateUserInput!) {
    reactivateUser(input: $input) {
      user {
        id
        status
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

export const ALL_PERMISSIONS: Permission[] = [
  'VIEW_USERS',
  'EDIT_OTHER_USERS',
  'EDIT_ROLES',
  'UPGRADE_TYPE_CLASSIFICATION',
  'MANAGE_PATIENTS',
  'MANAGE_SCHEDULE',
  'VIEW_BILLING',
  'MANAGE_PORTAL',
  'VIEW_AUDIT_LOG',
];

type Outcome = { errors: Map<string, string[]>; failure: string | null; networkError: boolean; done: string | null };
const NONE: Outcome = { errors: new Map(), failure: null, networkError: false, done: null };

function outcomeOf(
  result: { data: unknown; errors: { message: string; extensions?: { code?: string } }[]; networkError: boolean },
  payload: { errors: { code: string; message: string; field?: readonly string[] | null }[] } | null | undefined,
  done: string,
): Outcome {
  const errors = errorsByField(payload?.errors ?? []);
  return {
    errors,
    failure: describeErrors(result.errors),
    networkError: result.networkError,
    done: payload && payload.errors.length === 0 ? done : null,
  };
}

function OutcomeMessages({ outcome, shown }: { outcome: Outcome; shown: string[] }) {
  const general = unplacedErrors(outcome.errors, shown);
  return (
    <>
      <Failure networkError={outcome.networkError} text={outcome.failure ?? (general.length ? general.join(' ') : null)} />
      {outcome.done ? <Message kind="success">{outcome.done}</Message> : null}
    </>
  );
}

export default function Member({ params }: { params: Record<string, string> }) {
  const id = params.id;
  const can = useCan();
  const viewer = useViewer();
  const when = useDateTime();
  const query = useQuery(MemberDocument, { id });
  const user = query.data?.user;
  const editable = can('EDIT_OTHER_USERS') && user && user.id !== viewer.user?.id;

  const [profile, setProfile] = useState<Record<string, string>>({});
  const [profileOutcome, setProfileOutcome] = useState(NONE);
  const [roleIds, setRoleIds] = useState<string[]>([]);
  const [extra, setExtra] = useState<string[]>([]);
  const [password, setPassword] = useState('');
  const [accessOutcome, setAccessOutcome] = useState(NONE);
  const [statusOutcome, setStatusOutcome] = useState(NONE);

  useEffect(() => {
    if (!user) return;
    setProfile({
      firstName: user.firstName,
      lastName: user.lastName,
      title: user.title ?? '',
      position: user.position ?? '',
      billingNumber: user.billingNumber ?? '',
    });
    setRoleIds((user.roles ?? []).map((role) => role.id));
    setExtra([...user.extraPermissions]);
  }, [user]);

  if (query.loading && !user) return <Loading />;
  if (!user) return <Failure networkError={query.networkError} text={query.failure ?? 'There is no such member.'} />;

  const set = (name: string) => (event: { target: { value: string } }) => setProfile({ ...profile, [name]: event.target.value });

  const saveProfile = async (event: FormEvent) => {
    event.preventDefault();
    const result = await run(UpdateMemberDocument, {
      input: {
        userId: id,
        firstName: profile.firstName,
        lastName: profile.lastName,
        title: profile.title || null,
        position: profile.position || null,
        ...(user.type === 'PRACTITIONER' && user.classification !== 'CLINICAL_TRAINEE' ? { billingNumber: profile.billingNumber || null } : {}),
      },
    });
    setProfileOutcome(outcomeOf(result, result.data?.updateUser, 'The profile is saved.'));
    query.reload();
  };

  const saveAccess = async (event: FormEvent) => {
    event.preventDefault();
    const before = new Set(user.extraPermissions);
    const after = new Set(extra);
    const result = await run(AssignRolesDocument, { input: { userId: id, roleIds, password } });
    let outcome = outcomeOf(result, result.data?.assignRoles, 'Roles and permissions are saved.');
    for (const permission of ALL_PERMISSIONS) {
      if (outcome.done === null) break;
      if (after.has(permission) && !before.has(permission)) {
        const granted = await run(GrantPermissionDocument, { input: { userId: id, permission, password } });
        outcome = outcomeOf(granted, granted.data?.grantPermission, 'Roles and permissions are saved.');
      } else if (!after.has(permission) && before.has(permission)) {
        const revoked = await run(RevokePermissionDocument, { input: { userId: id, permission, password } });
        outcome = outcomeOf(revoked, revoked.data?.revokePermission, 'Roles and permissions are saved.');
      }
    }
    setAccessOutcome(outcome);
    if (outcome.done) setPassword('');
    query.reload();
  };

  const resend = async () => {
    const result = await run(ResendInvitationDocument, { input: { userId: id } });
    setStatusOutcome(outcomeOf(result, result.data?.resendInvitation, 'A new invitation is on its way.'));
    query.reload();
  };

  const reactivate = async () => {
    const result = await run(ReactivateDocument, { input: { userId: id } });
    setStatusOutcome(outcomeOf(result, result.data?.reactivateUser, 'The member is active again.'));
    query.reload();
  };

  const name = user.displayName || `${user.firstName} ${user.lastName}`;
  return (
    <section aria-labelledby="member-title">
      <p>
        <Link to="/members">Back to the members</Link>
      </p>
      <h1 id="member-title">{name}</h1>
      {new URLSearchParams(window.location.search).get('invited') ? <Message kind="success">The invitation is sent.</Message> : null}
      <OutcomeMessages outcome={statusOutcome} shown={[]} />
      <dl className="facts">
        <dt>Email</dt>
        <dd>{user.email}</dd>
        <dt>Type</dt>
        <dd>{humanize(user.type)}</dd>
        {user.classification ? (
          <>
            <dt>Classification</dt>
            <dd>{humanize(user.classification)}</dd>
          </>
        ) : null}
        <dt>Status</dt>
        <dd>{humanize(user.status)}</dd>
        <dt>License</dt>
        <dd>
          {humanize(user.license)}
          {user.pendingLicense ? ` (${humanize(user.pendingLicense)} from ${user.pendingLicenseEffectiveOn})` : ''}
        </dd>
        <dt>Invited</dt>
        <dd>{when(user.invitedAt)}</dd>
        <dt>Accepted</dt>
        <dd>{when(user.acceptedAt)}</dd>
        {user.deactivatedAt ? (
          <>
            <dt>Deactivated</dt>
            <dd>{when(user.deactivatedAt)}</dd>
          </>
        ) : null}
      </dl>
      {editable ? (
        <p className="actions">
          {user.status === 'INVITED' ? (
            <button type="button" onClick={resend}>
              Resend the invitation
            </button>
          ) : null}{' '}
          {user.status === 'ACTIVE' && !user.isOwner ? <Link to={`/members/${encodeURIComponent(id)}/deactivate`}>Deactivate…</Link> : null}{' '}
          {user.status === 'DEACTIVATED' ? (
            <button type="button" onClick={reactivate}>
              Reactivate
            </button>
          ) : null}{' '}
          <Link to={`/members/${encodeURIComponent(id)}/handover`}>Handover report</Link>
        </p>
      ) : null}

      {editable ? (
        <form onSubmit={saveProfile} aria-labelledby="profile-title" noValidate>
          <h2 id="profile-title">Profile</h2>
          <OutcomeMessages outcome={profileOutcome} shown={['firstName', 'lastName', 'title', 'position', 'billingNumber']} />
          <TextField label="First name" value={profile.firstName ?? ''} onChange={set('firstName')} errors={profileOutcome.errors.get('firstName')} />
          <TextField label="Last name" value={profile.lastName ?? ''} onChange={set('lastName')} errors={profileOutcome.errors.get('lastName')} />
          <TextField label="Title" value={profile.title ?? ''} onChange={set('title')} errors={profileOutcome.errors.get('title')} />
          <TextField label="Position" value={profile.position ?? ''} onChange={set('position')} errors={profileOutcome.errors.get('position')} />
          {user.type === 'PRACTITIONER' && user.classification !== 'CLINICAL_TRAINEE' ? (
            <TextField label="Billing number" value={profile.billingNumber ?? ''} onChange={set('billingNumber')} errors={profileOutcome.errors.get('billingNumber')} />
          ) : null}
          <button type="submit">Save the profile</button>
        </form>
      ) : null}

      <h2>Roles and permissions</h2>
      {editable && query.data?.roles ? (
        <form onSubmit={saveAccess} aria-label="Roles and permissions" noValidate>
          <OutcomeMessages outcome={accessOutcome} shown={['password', 'roleIds', 'permission']} />
          <fieldset>
            <legend>Roles</legend>
            {query.data.roles.map((role) => (
              <label key={role.id} className="check">
                <input type="checkbox" checked={roleIds.includes(role.id)} onChange={(e) => setRoleIds(e.target.checked ? [...roleIds, role.id] : roleIds.filter((x) => x !== role.id))} />
                {role.name}
              </label>
            ))}
            {accessOutcome.errors.get('roleIds') ? <p className="field-error">{accessOutcome.errors.get('roleIds')!.join(' ')}</p> : null}
          </fieldset>
          <fieldset>
            <legend>Extra permissions</legend>
            {ALL_PERMISSIONS.map((permission) => (
              <label key={permission} className="check">
                <input type="checkbox" checked={extra.includes(permission)} onChange={(e) => setExtra(e.target.checked ? [...extra, permission] : extra.filter((x) => x !== permission))} />
                {humanize(permission)}
              </label>
            ))}
            {accessOutcome.errors.get('permission') ? <p className="field-error">{accessOutcome.errors.get('permission')!.join(' ')}</p> : null}
          </fieldset>
          <TextField
            label="Your password, to confirm"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            errors={accessOutcome.errors.get('password')}
          />
          <button type="submit">Save roles and permissions</button>
        </form>
      ) : (
        <>
          <p>Roles: {(user.roles ?? []).map((role) => role.name).join(', ') || 'none'}</p>
          <p>Permissions: {user.permissions.map(humanize).join(', ') || 'none'}</p>
        </>
      )}

      {user.status === 'ACTIVE' ? (
        <SecondFactorReset userId={id} enabled={user.twoFactorEnabled} mayReset={!!editable && (!user.isOwner || !!viewer.user?.isOwner)} />
      ) : null}

      <h2>License history</h2>
      {user.licenseHistory.length === 0 ? (
        <p>No license change is recorded.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Changed</th>
              <th scope="col">Kind</th>
              <th scope="col">From</th>
              <th scope="col">To</th>
              <th scope="col">Effective on</th>
              <th scope="col">By</th>
            </tr>
          </thead>
          <tbody>
            {user.licenseHistory.map((change, index) => (
              <tr key={index}>
                <td>{when(change.changedAt)}</td>
                <td>
                  {humanize(change.kind)}
                  {change.cancelledAt ? ' (cancelled)' : ''}
                </td>
                <td>{humanize(change.fromLicense)}</td>
                <td>{humanize(change.toLicense)}</td>
                <td>{change.effectiveOn}</td>
                <td>{change.changedBy ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
