import { type FormEvent, useState } from 'react';
import { run } from '../api';
import { graphql } from '../gql';
import { describeErrors, errorsByField, unplacedErrors } from '../logic';
import { navigate } from '../router';
import { saveToken } from '../session';
import { Failure, TextField } from '../ui';

const LoginDocument = graphql(`
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      token
      expiresAt
      errors {
        code
        message
        field
      }
    }
  }
`);

/** Sign in: the password step. When the server asks for a second factor, its step goes
 * here, between the password and saving the session (see admin/README.md). */
export default function SignIn() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [fieldErrors, setFieldErrors] = useState(new Map<string, string[]>());
  const [failure, setFailure] = useState<string | null>(null);
  const [networkError, setNetworkError] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const result = await run(LoginDocument, { input: { email, password } });
    setBusy(false);
    setNetworkError(result.networkError);
    setFailure(describeErrors(result.errors));
    const payload = result.data?.login;
    if (!payload) return;
    const errors = errorsByField(payload.errors);
    setFieldErrors(errors);
    if (payload.token) {
      saveToken(payload.token);
      navigate('/', true);
    }
  };

  const general = unplacedErrors(fieldErrors, ['email', 'password']);
  return (
    <main className="narrow" id="main">
      <h1>Sign in</h1>
      <form onSubmit={submit} noValidate>
        <Failure networkError={networkError} text={failure ?? (general.length ? general.join(' ') : null)} />
        <TextField label="Email" type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} errors={fieldErrors.get('email')} />
        <TextField label="Password" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} errors={fieldErrors.get('password')} />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
