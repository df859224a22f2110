import { type FormEvent, useEffect, useState } from 'react';
import { run } from '../api';
import { graphql } from '../gql';
import { useQuery } from '../hooks';
import { describeErrors, errorsByField, minutesFrom, unplacedErrors } from '../logic';
import { BASE } from '../router';
import { Failure, Loading, Message, TextField } from '../ui';
import { useViewer } from '../viewer';

const SecurityPolicyDocument = graphql(`
  query SecurityPolicy {
    viewer {
      organization {
        id
        securityPolicy {
          requireTwoFactor
          sessionIdleTimeoutMinutes
        }
      }
    }
  }
`);

const UpdateSecurityPolicyDocument = graphql(`
  mutation UpdateSecurityPolicy($input: UpdateSecurityPolicyInput!) {
    updateSecurityPolicy(input: $input) {
      organization {
        id
        securityPolicy {
          requireTwoFactor
          sessionIdleTimeoutMinutes
        }
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

/** The organization's security policy, for the owner and the support account: a second
 * factor for everyone, and the idle timeout of sessions. */
export default function Security() {
  const viewer = useViewer();
  const query = useQuery(SecurityPolicyDocument);
  const policy = query.data?.viewer.organization.securityPolicy;
  const [requireTwoFactor, setRequireTwoFactor] = useState(false);
  const [idle, setIdle] = useState('');
  const [errors, setErrors] = useState(new Map<string, string[]>());
  const [failure, setFailure] = useState<string | null>(null);
  const [networkError, setNetworkError] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!policy) return;
    setRequireTwoFactor(policy.requireTwoFactor);
    setIdle(policy.sessionIdleTimeoutMinutes == null ? '' : String(policy.sessionIdleTimeoutMinutes));
  }, [policy]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const minutes = minutesFrom(idle);
    if (minutes === undefined) {
      setErrors(new Map([['sessionIdleTimeoutMinutes', ['Give a whole number of minutes, or leave it empty for no idle timeout.']]]));
      return;
    }
    setBusy(true);
    const result = await run(UpdateSecurityPolicyDocument, { input: { requireTwoFactor, sessionIdleTimeoutMinutes: minutes } });
    setBusy(false);
    setNetworkError(result.networkError);
    setFailure(describeErrors(result.errors));
    const payload = result.data?.updateSecurityPolicy;
    if (!payload) return;
    setErrors(errorsByField(payload.errors));
    setNotice(payload.errors.length === 0 ? 'The security policy is saved.' : null);
    // Without a second factor of its own, this very session is now held to enrolment.
    if (payload.errors.length === 0 && requireTwoFactor && viewer.user && !viewer.user.twoFactorEnabled) window.location.assign(`${BASE}/account`);
  };

  if (query.loading && !query.data) return <Loading />;
  const general = unplacedErrors(errors, ['requireTwoFactor', 'sessionIdleTimeoutMinutes']);
  return (
    <>
      <h1>Security policy</h1>
      <Failure networkError={query.networkError} text={query.failure} />
      {policy ? (
        <form onSubmit={submit} noValidate>
          <Failure networkError={networkError} text={failure ?? (general.length ? general.join(' ') : null)} />
          <Message kind="success">{notice}</Message>
          <div className="field">
            <label className="check">
              <input type="checkbox" checked={requireTwoFactor} onChange={(e) => setRequireTwoFactor(e.target.checked)} aria-describedby="require-hint" />{' '}
              Require a second factor for every account
            </label>
            <p className="hint" id="require-hint">
              Members without one can only set one up after signing in. API consumers are not concerned.
              {viewer.user && !viewer.user.twoFactorEnabled ? ' You have none yet: once this is saved, you set yours up first.' : ''}
            </p>
          </div>
          <TextField
            label="Idle timeout (minutes)"
            hint="End sessions unused for this long: 5 to 1440 minutes, for shared front-desk computers. Empty: no idle timeout."
            inputMode="numeric"
            value={idle}
            onChange={(e) => setIdle(e.target.value)}
            errors={errors.get('sessionIdleTimeoutMinutes')}
          />
          <button type="submit" disabled={busy}>
            Save the security policy
          </button>
        </form>
      ) : null}
    </>
  );
}
