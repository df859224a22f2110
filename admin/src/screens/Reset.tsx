import { type FormEvent, useState } from 'react';
import { run } from '../api';
import { graphql } from '../gql';
import { useLinkToken } from '../hooks';
import { describeErrors, errorsByField, unplacedErrors } from '../logic';
import { Link } from '../router';
import { Failure, Message, TextField } from '../ui';

const ResetPasswordDocument = graphql(`
  mutation ResetPassword($input: ResetPasswordInput!) {
    resetPassword(input: $input) {
      email
      errors {
        code
        message
        field
      }
    }
  }
`);

/** The page a reset link opens (`/admin/reset#token=…`): choose a new password. */
export default function Reset() {
  const token = useLinkToken();
  const [newPassword, setNewPassword] = useState('');
  const [errors, setErrors] = useState(new Map<string, string[]>());
  const [failure, setFailure] = useState<string | null>(null);
  const [networkError, setNetworkError] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!token) return;
    setBusy(true);
    const result = await run(ResetPasswordDocument, { input: { token, newPassword } });
    setBusy(false);
    setNetworkError(result.networkError);
    setFailure(describeErrors(result.errors));
    const payload = result.data?.resetPassword;
    if (!payload) return;
    setErrors(errorsByField(payload.errors));
    if (payload.errors.length === 0) setDone(payload.email ?? 'Your account');
  };

  const general = unplacedErrors(errors, ['newPassword']);
  return (
    <main className="narrow" id="main">
      <h1>Choose a new password</h1>
      {done ? (
        <>
          <Message kind="success">The password of {done} is changed, and every session of the account has ended.</Message>
          <Link to="/">Sign in</Link>
        </>
      ) : !token ? (
        <>
          <Message kind="error">This link holds no reset token. Open the link from the message again, or ask for a new one.</Message>
          <Link to="/forgot">Ask for a new link</Link>
        </>
      ) : (
        <form onSubmit={submit} noValidate>
          <Failure networkError={networkError} text={failure ?? (general.length ? general.join(' ') : null)} />
          <TextField
            label="New password"
            hint="12 to 256 characters, not easily guessed: a few unrelated words work well."
            type="password"
            autoComplete="new-password"
            required
            value={newPassword}
            onChange={(e) => setNewPassword(e.target.value)}
            errors={errors.get('newPassword')}
          />
          <button type="submit" disabled={busy}>
            Set the new password
          </button>
        </form>
      )}
    </main>
  );
}
