import { type FormEvent, useState } from 'react';
import { run } from '../api';
import { graphql } from '../gql';
import { describeErrors, errorsByField, unplacedErrors } from '../logic';
import { Failure, Message, TextField } from '../ui';

const ResetSecondFactorDocument = graphql(`
  mutation ResetSecondFactor($input: ResetSecondFactorInput!) {
    resetSecondFactor(input: $input) {
      user {
        id
        twoFactorEnabled
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

/** A member's second factor, on the member page: whether it is on, and for those who may
 * edit other users, removing it (a lost phone) with their own password re-entered. The
 * member's sessions end; it signs in with its password alone and may enrol again. */
export default function SecondFactorReset({
  userId,
  enabled,
  mayReset,
}: {
  userId: string;
  enabled: boolean;
  mayReset: boolean;
}) {
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState(new Map<string, string[]>());
  const [failure, setFailure] = useState<string | null>(null);
  const [networkError, setNetworkError] = useState(false);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const result = await run(ResetSecondFactorDocument, { input: { userId, password } });
    setBusy(false);
    setNetworkError(result.networkError);
    setFailure(describeErrors(result.errors));
    const payload = result.data?.resetSecondFactor;
    if (!payload) return;
    setErrors(errorsByField(payload.errors));
    if (payload.errors.length === 0) {
      setPassword('');
      setDone(true);
    }
  };

  const general = unplacedErrors(errors, ['password']);
  const on = enabled && !done;
  return (
    <section aria-labelledby="second-factor-title">
      <h2 id="second-factor-title">Second factor</h2>
      {done ? <Message kind="success">The second factor is removed and the member's sessions have ended.</Message> : null}
      <p>{on ? 'On: signing in asks for a code from an authenticator app.' : 'Off: signing in asks for the password alone.'}</p>
      {on && mayReset ? (
        <form onSubmit={submit} noValidate aria-label="Reset the second factor">
          <p className="hint">For a lost phone: the member signs in with the password alone, then sets up a new second factor.</p>
          <Failure networkError={networkError} text={failure ?? (general.length ? general.join(' ') : null)} />
          <TextField label="Confirm with your password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} errors={errors.get('password')} />
          <button type="submit" disabled={busy}>
            Reset the second factor
          </button>
        </form>
      ) : null}
    </section>
  );
}
