import { type FormEvent, useState } from 'react';
import { run } from '../api';
import { graphql } from '../gql';
import { useLinkToken } from '../hooks';
import { describeErrors, errorsByField, unplacedErrors } from '../logic';
import { Link } from '../router';
import { Failure, Message, TextField } from '../ui';

const AcceptInvitationDocument = graphql(`
  mutation AcceptInvitation($input: AcceptInvitationInput!) {
    acceptInvitation(input: $input) {
      user {
        id
        email
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

export default function Accept() {
  const token = useLinkToken();
  const [values, setValues] = useState({ firstName: '', lastName: '', password: '', title: '', position: '' });
  const [errors, setErrors] = useState(new Map<string, string[]>());
  const [failure, setFailure] = useState<string | null>(null);
  const [networkError, setNetworkError] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (name: keyof typeof values) => (event: { target: { value: string } }) => setValues({ ...values, [name]: event.target.value });

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!token) return;
    setBusy(true);
    // A title or position left empty keeps the one the invitation gave.
    const { title, position, ...named } = values;
    const input = { token, ...named, title: title.trim() || null, position: position.trim() || null };
    const result = await run(AcceptInvitationDocument, { input });
    setBusy(false);
    setNetworkError(result.networkError);
    setFailure(describeErrors(result.errors));
    const payload = result.data?.acceptInvitation;
    if (!payload) return;
    setErrors(errorsByField(payload.errors));
    if (payload.user && payload.errors.length === 0) setDone(payload.user.email);
  };

  const general = unplacedErrors(errors, ['firstName', 'lastName', 'password', 'title', 'position']);
  return (
    <main className="narrow" id="main">
      <h1>Accept the invitation</h1>
      {done ? (
        <>
          <Message kind="success">Your account {done} is ready.</Message>
          <Link to="/">Sign in</Link>
        </>
      ) : !token ? (
        <Message kind="error">This link holds no invitation. Open the link from the invitation message again.</Message>
      ) : (
        <form onSubmit={submit} noValidate>
          <Failure networkError={networkError} text={failure ?? (general.length ? general.join(' ') : null)} />
          <TextField label="First name" autoComplete="given-name" required value={values.firstName} onChange={set('firstName')} errors={errors.get('firstName')} />
          <TextField label="Last name" autoComplete="family-name" required value={values.lastName} onChange={set('lastName')} errors={errors.get('lastName')} />
          <TextField label="Title (optional)" autoComplete="honorific-prefix" value={values.title} onChange={set('title')} errors={errors.get('title')} />
          <TextField label="Position (optional)" autoComplete="organization-title" value={values.position} onChange={set('position')} errors={errors.get('position')} />
          <TextField label="Choose a password" type="password" autoComplete="new-password" required value={values.password} onChange={set('password')} errors={errors.get('password')} />
          <button type="submit" disabled={busy}>
            Accept and create my account
          </button>
        </form>
      )}
    </main>
  );
}
