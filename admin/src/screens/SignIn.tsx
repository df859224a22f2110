import { type FormEvent, useState } from 'react';
import { run } from '../api';
import { graphql } from '../gql';
import { describeErrors, errorsByField, unplacedErrors } from '../logic';
import { Link, navigate } from '../router';
import { saveToken } from '../session';
import { Failure, TextField } from '../ui';

const LoginDocument = graphql(`
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      token
      expiresAt
      secondFactorRequired
      challengeToken
      errors {
        code
        message
        field
      }
    }
  }
`);

const VerifySecondFactorDocument = graphql(`
  mutation VerifySecondFactor($input: VerifySecondFactorInput!) {
    verifySecondFactor(input: $input) {
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

/** Sign in: the password, then, for a user with a second factor, the authenticator's code
 * (or a recovery code) before the session is saved. */
export default function SignIn() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [challenge, setChallenge] = useState<string | null>(null);
  const [code, setCode] = useState('');
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
    setFieldErrors(errorsByField(payload.errors));
    if (payload.token) {
      saveToken(payload.token);
      navigate('/', true);
    } else if (payload.secondFactorRequired && payload.challengeToken) {
      setPassword('');
      setChallenge(payload.challengeToken);
    }
  };

  const verify = async (event: FormEvent) => {
    event.preventDefault();
    if (!challenge) return;
    setBusy(true);
    const result = await run(VerifySecondFactorDocument, { input: { challengeToken: challenge, code: code.trim() } });
    setBusy(false);
    setNetworkError(result.networkError);
    setFailure(describeErrors(result.errors));
    const payload = result.data?.verifySecondFactor;
    if (!payload) return;
    const errors = errorsByField(payload.errors);
    setFieldErrors(errors);
    if (payload.token) {
      saveToken(payload.token);
      navigate('/', true);
    } else if (payload.errors.some((error) => error.code === 'CHALLENGE_INVALID')) {
      // The challenge is spent: back to the password step, with the reason.
      setChallenge(null);
      setCode('');
      setFailure(payload.errors.map((error) => error.message).join(' '));
    } else {
      setCode('');
    }
  };

  if (challenge) {
    const general = unplacedErrors(fieldErrors, ['code', 'challengeToken']);
    return (
      <main className="narrow" id="main">
        <h1>Second factor</h1>
        <form onSubmit={verify} noValidate>
          <Failure networkError={networkError} text={failure ?? (general.length ? general.join(' ') : null)} />
          <TextField
            label="Code"
            hint="The 6-digit code your authenticator app shows now, or one of your unused recovery codes."
            autoComplete="one-time-code"
            autoFocus
            required
            value={code}
            onChange={(e) => setCode(e.target.value)}
            errors={[...(fieldErrors.get('code') ?? []), ...(fieldErrors.get('challengeToken') ?? [])]}
          />
          <button type="submit" disabled={busy}>
            {busy ? 'Checking…' : 'Verify'}
          </button>{' '}
          <button type="button" className="secondary" onClick={() => { setChallenge(null); setCode(''); setFieldErrors(new Map()); }}>
            Start again
          </button>
        </form>
      </main>
    );
  }

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
      <p>
        <Link to="/forgot">Forgot your password?</Link>
      </p>
    </main>
  );
}
