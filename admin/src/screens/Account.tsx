import { type FormEvent, useState } from 'react';
import { run } from '../api';
import { graphql } from '../gql';
import { useQuery } from '../hooks';
import { describeErrors, errorsByField, unplacedErrors } from '../logic';
import { Failure, Loading, Message, TextField } from '../ui';
import { useDateTime } from '../viewer';
import TwoFactor from './TwoFactor';

const MyAccountDocument = graphql(`
  query MyAccount {
    viewer {
      user {
        id
        email
        firstName
        lastName
        title
        position
        twoFactorEnabled
      }
    }
    mySessions {
      id
      createdAt
      lastUsedAt
      userAgent
      expiresAt
      current
    }
  }
`);

const UpdateMyProfileDocument = graphql(`
  mutation UpdateMyProfile($input: UpdateMyProfileInput!) {
    updateMyProfile(input: $input) {
      user {
        id
        firstName
        lastName
        title
        position
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

const ChangePasswordDocument = graphql(`
  mutation ChangePassword($input: ChangePasswordInput!) {
    changePassword(input: $input) {
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

const RevokeMySessionDocument = graphql(`
  mutation RevokeMySession($input: RevokeMySessionInput!) {
    revokeMySession(input: $input) {
      revokedSessionId
      errors {
        code
        message
        field
      }
    }
  }
`);

type Outcome = { errors: Map<string, string[]>; failure: string | null; networkError: boolean; notice: string | null };
const EMPTY: Outcome = { errors: new Map(), failure: null, networkError: false, notice: null };

function Top({ outcome, shown }: { outcome: Outcome; shown: string[] }) {
  const general = unplacedErrors(outcome.errors, shown);
  return (
    <>
      <Failure networkError={outcome.networkError} text={outcome.failure ?? (general.length ? general.join(' ') : null)} />
      <Message kind="success">{outcome.notice}</Message>
    </>
  );
}

type Me = { firstName: string; lastName: string; title?: string | null; position?: string | null };

function Profile({ me }: { me: Me }) {
  const [values, setValues] = useState({ firstName: me.firstName, lastName: me.lastName, title: me.title ?? '', position: me.position ?? '' });
  const [outcome, setOutcome] = useState(EMPTY);
  const [busy, setBusy] = useState(false);
  const set = (name: keyof typeof values) => (event: { target: { value: string } }) => setValues({ ...values, [name]: event.target.value });
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const result = await run(UpdateMyProfileDocument, { input: values });
    setBusy(false);
    const payload = result.data?.updateMyProfile;
    setOutcome({
      errors: errorsByField(payload?.errors ?? []),
      failure: describeErrors(result.errors),
      networkError: result.networkError,
      notice: payload && payload.errors.length === 0 ? 'Your profile is saved.' : null,
    });
  };
  return (
    <form onSubmit={submit} noValidate aria-labelledby="profile-heading">
      <h2 id="profile-heading">Profile</h2>
      <Top outcome={outcome} shown={['firstName', 'lastName', 'title', 'position']} />
      <TextField label="First name" autoComplete="given-name" value={values.firstName} onChange={set('firstName')} errors={outcome.errors.get('firstName')} />
      <TextField label="Last name" autoComplete="family-name" value={values.lastName} onChange={set('lastName')} errors={outcome.errors.get('lastName')} />
      <TextField label="Title" value={values.title} onChange={set('title')} errors={outcome.errors.get('title')} />
      <TextField label="Position" value={values.position} onChange={set('position')} errors={outcome.errors.get('position')} />
      <button type="submit" disabled={busy}>
        Save my profile
      </button>
    </form>
  );
}

function Password({ onChanged }: { onChanged: () => void }) {
  const [password, setPassword] = useState('');
  const [newPassword, setNewPassword] = useState('');
  const [outcome, setOutcome] = useState(EMPTY);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const result = await run(ChangePasswordDocument, { input: { password, newPassword } });
    setBusy(false);
    const payload = result.data?.changePassword;
    const ok = !!payload && payload.errors.length === 0;
    setOutcome({
      errors: errorsByField(payload?.errors ?? []),
      failure: describeErrors(result.errors),
      networkError: result.networkError,
      notice: ok ? 'Your password is changed; your other sessions have ended.' : null,
    });
    if (ok) {
      setPassword('');
      setNewPassword('');
      onChanged();
    }
  };
  return (
    <form onSubmit={submit} noValidate aria-labelledby="password-heading">
      <h2 id="password-heading">Password</h2>
      <Top outcome={outcome} shown={['password', 'newPassword']} />
      <TextField label="Current password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} errors={outcome.errors.get('password')} />
      <TextField
        label="New password"
        hint="12 to 256 characters, not easily guessed: a few unrelated words work well."
        type="password"
        autoComplete="new-password"
        value={newPassword}
        onChange={(e) => setNewPassword(e.target.value)}
        errors={outcome.errors.get('newPassword')}
      />
      <button type="submit" disabled={busy}>
        Change my password
      </button>
    </form>
  );
}

type SessionRow = { id: string; createdAt: string; lastUsedAt?: string | null; userAgent?: string | null; expiresAt: string; current: boolean };

function Sessions({ sessions, onRevoked }: { sessions: readonly SessionRow[]; onRevoked: () => void }) {
  const when = useDateTime();
  const [outcome, setOutcome] = useState(EMPTY);
  const revoke = async (id: string) => {
    const result = await run(RevokeMySessionDocument, { input: { sessionId: id } });
    const payload = result.data?.revokeMySession;
    const ok = !!payload?.revokedSessionId;
    setOutcome({
      errors: errorsByField(payload?.errors ?? []),
      failure: describeErrors(result.errors),
      networkError: result.networkError,
      notice: ok ? 'The session has ended.' : null,
    });
    if (ok) onRevoked();
  };
  return (
    <section aria-labelledby="sessions-heading">
      <h2 id="sessions-heading">Sessions</h2>
      <Top outcome={outcome} shown={[]} />
      <table>
        <caption className="visually-hidden">Your open sessions</caption>
        <thead>
          <tr>
            <th scope="col">Browser</th>
            <th scope="col">Signed in</th>
            <th scope="col">Last used</th>
            <th scope="col">Expires</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {sessions.map((session) => (
            <tr key={session.id}>
              <td>
                {session.userAgent || 'Unknown browser'}
                {session.current ? ' (this session)' : ''}
              </td>
              <td>{when(session.createdAt)}</td>
              <td>{when(session.lastUsedAt)}</td>
              <td>{when(session.expiresAt)}</td>
              <td>
                {session.current ? null : (
                  <button type="button" className="secondary" onClick={() => revoke(session.id)} aria-label={`End the session signed in ${when(session.createdAt)}`}>
                    End this session
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** My account: the signed-in user's profile, password, second factor and sessions. */
export default function Account() {
  const query = useQuery(MyAccountDocument);
  const me = query.data?.viewer.user;
  if (query.loading && !query.data) return <Loading />;
  return (
    <>
      <h1>My account</h1>
      <Failure networkError={query.networkError} text={query.failure} />
      {query.data ? <Password onChanged={query.reload} /> : null}
      {me ? (
        <>
          <p>Signed in as {me.email}.</p>
          <Profile me={me} />
          <section aria-labelledby="two-factor-heading">
            <h2 id="two-factor-heading">Second factor</h2>
            <TwoFactor enabled={me.twoFactorEnabled} onChange={query.reload} />
          </section>
        </>
      ) : null}
      {query.data?.mySessions ? <Sessions sessions={query.data.mySessions} onRevoked={query.reload} /> : null}
    </>
  );
}
