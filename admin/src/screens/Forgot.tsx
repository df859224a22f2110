import { type FormEvent, useState } from 'react';
import { run } from '../api';
import { graphql } from '../gql';
import { describeErrors, errorsByField, unplacedErrors } from '../logic';
import { Link } from '../router';
import { Failure, Message, TextField } from '../ui';

const RequestPasswordResetDocument = graphql(`
  mutation RequestPasswordReset($input: RequestPasswordResetInput!) {
    requestPasswordReset(input: $input) {
      errors {
        code
        message
        field
      }
    }
  }
`);

/** A forgotten password: the server answers the same whatever the address, and mails a
 * link to a user who could sign in. */
export default function Forgot() {
  const [email, setEmail] = useState('');
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState(new Map<string, string[]>());
  const [failure, setFailure] = useState<string | null>(null);
  const [networkError, setNetworkError] = useState(false);
  const [sent, setSent] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const result = await run(RequestPasswordResetDocument, { input: { email } });
    setBusy(false);
    setNetworkError(result.networkError);
    setFailure(describeErrors(result.errors));
    const payload = result.data?.requestPasswordReset;
    if (!payload) return;
    setErrors(errorsByField(payload.errors));
    setSent(payload.errors.length === 0);
  };

  const general = unplacedErrors(errors, ['email']);
  return (
    <main className="narrow" id="main">
      <h1>Forgotten password</h1>
      {sent ? (
        <Message kind="success">If {email} belongs to an account that can sign in, a link to choose a new password is on its way. It is valid for one hour.</Message>
      ) : (
        <form onSubmit={submit} noValidate>
          <Failure networkError={networkError} text={failure ?? (general.length ? general.join(' ') : null)} />
          <TextField label="Email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} errors={errors.get('email')} />
          <button type="submit" disabled={busy}>
            Send me a reset link
          </button>
        </form>
      )}
      <p>
        <Link to="/">Back to sign in</Link>
      </p>
    </main>
  );
}
