import { type FormEvent, useState } from 'react';
import { run } from '../api';
import { graphql } from '../gql';
import { describeErrors, errorsByField, unplacedErrors } from '../logic';
import { Failure, Message, TextField } from '../ui';
import QrCode from './QrCode';

const StartTwoFactorEnrollmentDocument = graphql(`
  mutation StartTwoFactorEnrollment {
    startTwoFactorEnrollment {
      secret
      otpauthUri
      qrCodeSvg
      errors {
        code
        message
        field
      }
    }
  }
`);

const ConfirmTwoFactorEnrollmentDocument = graphql(`
  mutation ConfirmTwoFactorEnrollment($input: ConfirmTwoFactorEnrollmentInput!) {
    confirmTwoFactorEnrollment(input: $input) {
      recoveryCodes
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

const DisableTwoFactorDocument = graphql(`
  mutation DisableTwoFactor($input: DisableTwoFactorInput!) {
    disableTwoFactor(input: $input) {
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

type Enrolment = { secret: string; otpauthUri: string; qrCodeSvg: string };

/** The second factor of the signed-in user: set up (QR code, confirm with a code, the
 * recovery codes shown once) or turn off (password and a code). `onChange` runs once the
 * recovery codes are put away, or after turning it off. */
export default function TwoFactor({ enabled, onChange }: { enabled: boolean; onChange: () => void }) {
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [code, setCode] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState(new Map<string, string[]>());
  const [failure, setFailure] = useState<string | null>(null);
  const [networkError, setNetworkError] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const answered = (result: { networkError: boolean; errors: Parameters<typeof describeErrors>[0] }) => {
    setNetworkError(result.networkError);
    setFailure(describeErrors(result.errors));
  };

  const start = async () => {
    setBusy(true);
    setNotice(null);
    const result = await run(StartTwoFactorEnrollmentDocument);
    setBusy(false);
    answered(result);
    const payload = result.data?.startTwoFactorEnrollment;
    if (!payload) return;
    setErrors(errorsByField(payload.errors));
    if (payload.secret && payload.otpauthUri && payload.qrCodeSvg) {
      setEnrolment({ secret: payload.secret, otpauthUri: payload.otpauthUri, qrCodeSvg: payload.qrCodeSvg });
    }
  };

  const confirm = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const result = await run(ConfirmTwoFactorEnrollmentDocument, { input: { code: code.trim() } });
    setBusy(false);
    answered(result);
    const payload = result.data?.confirmTwoFactorEnrollment;
    if (!payload) return;
    setErrors(errorsByField(payload.errors));
    setCode('');
    if (payload.recoveryCodes) {
      setEnrolment(null);
      setCodes(payload.recoveryCodes);
    }
  };

  const disable = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const result = await run(DisableTwoFactorDocument, { input: { password, code: code.trim() } });
    setBusy(false);
    answered(result);
    const payload = result.data?.disableTwoFactor;
    if (!payload) return;
    setErrors(errorsByField(payload.errors));
    if (payload.errors.length === 0) {
      setPassword('');
      setCode('');
      setNotice('The second factor is off: you sign in with your password alone.');
      onChange();
    }
  };

  const general = unplacedErrors(errors, ['code', 'password']);
  const top = <Failure networkError={networkError} text={failure ?? (general.length ? general.join(' ') : null)} />;

  if (codes) {
    return (
      <>
        <Message kind="success">The second factor is on.</Message>
        <p>
          <strong>Your recovery codes, shown this once.</strong> Each signs you in once when your phone is not at hand. Keep them somewhere safe
          (printed, or in a password manager).
        </p>
        <ul className="codes" aria-label="Recovery codes">
          {codes.map((item) => (
            <li key={item}>
              <code>{item}</code>
            </li>
          ))}
        </ul>
        <button
          type="button"
          onClick={() => {
            setCodes(null);
            onChange();
          }}
        >
          I have saved my recovery codes
        </button>
      </>
    );
  }

  if (enabled) {
    return (
      <form onSubmit={disable} noValidate>
        <Message kind="info">{notice}</Message>
        <p>Your second factor is on: signing in asks for your authenticator app's code.</p>
        {top}
        <TextField label="Current password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} errors={errors.get('password')} />
        <TextField label="Code from your app" autoComplete="one-time-code" value={code} onChange={(e) => setCode(e.target.value)} errors={errors.get('code')} />
        <button type="submit" disabled={busy}>
          Turn off the second factor
        </button>
      </form>
    );
  }

  if (enrolment) {
    return (
      <form onSubmit={confirm} noValidate>
        {top}
        <p>Scan this code with an authenticator app, then type the 6-digit code it shows.</p>
        <QrCode svg={enrolment.qrCodeSvg} label="QR code for your authenticator app" />
        <details>
          <summary>Cannot scan? Type the key instead</summary>
          <dl className="facts">
            <dt>Key</dt>
            <dd>
              <code>{enrolment.secret}</code>
            </dd>
            <dt>Address</dt>
            <dd>
              <code className="wrap">{enrolment.otpauthUri}</code>
            </dd>
          </dl>
        </details>
        <TextField label="Code from your app" autoComplete="one-time-code" inputMode="numeric" required value={code} onChange={(e) => setCode(e.target.value)} errors={errors.get('code')} />
        <button type="submit" disabled={busy}>
          Turn on the second factor
        </button>
      </form>
    );
  }

  return (
    <>
      <Message kind="info">{notice}</Message>
      <p>Your second factor is off. With it on, signing in also asks for a code from an authenticator app on your phone.</p>
      {top}
      <button type="button" onClick={start} disabled={busy}>
        Set up a second factor
      </button>
    </>
  );
}
