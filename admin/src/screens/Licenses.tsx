import { type FormEvent, useState } from 'react';
import { run } from '../api';
import { graphql } from '../gql';
import type { Feature, License } from '../gql/graphql';
import { useQuery } from '../hooks';
import { describeErrors, errorsByField, humanize, unplacedErrors } from '../logic';
import { Failure, Loading, Message, SelectField, TextField } from '../ui';
import { useCan, useDateTime, useViewer } from '../viewer';

const FEATURES: Feature[] = [
  'SCHEDULING',
  'RECORD_KEEPING',
  'QUESTIONNAIRES',
  'PATIENT_MESSAGING',
  'EBOOKING',
  'APPOINTMENT_REMINDERS',
  'ADVANCED_ANALYTICS',
  'CONNECT_APP',
  'VIRTUAL_CARE',
  'LABS',
  'PRESCRIPTIONS',
  'PROVINCIAL_BILLING',
];

const FeatureAccessDocument = graphql(`
  query FeatureAccess($userId: ID!, $feature: Feature!) {
    featureAccess(userId: $userId, feature: $feature) {
      feature
      license
      included
      lowestLicense
      canUpgradeSelf
      mustRequest
    }
    licenseCatalog {
      license
      displayName
      description
    }
  }
`);

const UpgradeOwnLicenseDocument = graphql(`
  mutation UpgradeOwnLicense($input: UpgradeOwnLicenseInput!) {
    upgradeOwnLicense(input: $input) {
      user {
        id
        license
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

const RequestLicenseUpgradeDocument = graphql(`
  mutation RequestLicenseUpgrade($input: RequestLicenseUpgradeInput!) {
    requestLicenseUpgrade(input: $input) {
      request {
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

const UpgradeRequestsDocument = graphql(`
  query LicenseUpgradeRequests($status: UpgradeRequestStatus) {
    licenseUpgradeRequests(status: $status) {
      id
      requestedLicense
      reason
      status
      createdAt
      user {
        id
        firstName
        lastName
        license
      }
    }
    licenseCatalog {
      license
      displayName
    }
  }
`);

const ApproveDocument = graphql(`
  mutation ApproveLicenseUpgradeRequest($input: ApproveLicenseUpgradeRequestInput!) {
    approveLicenseUpgradeRequest(input: $input) {
      request {
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

const DeclineDocument = graphql(`
  mutation DeclineLicenseUpgradeRequest($input: DeclineLicenseUpgradeRequestInput!) {
    declineLicenseUpgradeRequest(input: $input) {
      request {
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

type Outcome = { done: string | null; failure: string | null; networkError: boolean; errors: Map<string, string[]> };
const NONE: Outcome = { done: null, failure: null, networkError: false, errors: new Map() };

function outcomeOf(
  result: { errors: { message: string; extensions?: { code?: string } }[]; networkError: boolean },
  payload: { errors: { code: string; message: string; field?: readonly string[] | null }[] } | null | undefined,
  done: string,
): Outcome {
  const ok = !!payload && payload.errors.length === 0;
  return { done: ok ? done : null, failure: describeErrors(result.errors), networkError: result.networkError, errors: errorsByField(payload?.errors ?? []) };
}

/** The upgrade prompt: whether a feature is in the viewer's license, and if not, the
 * lowest license that has it, to take at once or to ask for. */
function MyLicense({ userId }: { userId: string }) {
  const [feature, setFeature] = useState<Feature>('VIRTUAL_CARE');
  const query = useQuery(FeatureAccessDocument, { userId, feature });
  const [reason, setReason] = useState('');
  const [outcome, setOutcome] = useState<Outcome>(NONE);
  const access = query.data?.featureAccess;
  const name = (license: License | null | undefined) => query.data?.licenseCatalog.find((item) => item.license === license)?.displayName ?? humanize(license);
  const target = access?.lowestLicense ?? null;

  const upgrade = async () => {
    if (!target) return;
    const result = await run(UpgradeOwnLicenseDocument, { input: { license: target } });
    setOutcome(outcomeOf(result, result.data?.upgradeOwnLicense, `Your license is now ${name(target)}.`));
    query.reload();
  };
  const request = async (event: FormEvent) => {
    event.preventDefault();
    if (!target) return;
    const result = await run(RequestLicenseUpgradeDocument, { input: { license: target, reason: reason || null } });
    setOutcome(outcomeOf(result, result.data?.requestLicenseUpgrade, `Your request for ${name(target)} is sent to the administrators.`));
  };
  const general = unplacedErrors(outcome.errors, ['reason']);
  return (
    <section aria-labelledby="my-license-title">
      <h2 id="my-license-title">Your license and its features</h2>
      <SelectField label="Feature" value={feature} onChange={(e) => { setFeature(e.target.value as Feature); setOutcome(NONE); }} options={FEATURES.map((value) => ({ value, label: humanize(value) }))} />
      {query.loading && !query.data ? <Loading /> : null}
      <Failure networkError={query.networkError} text={query.failure} />
      {outcome.done ? <Message kind="success">{outcome.done}</Message> : null}
      <Failure networkError={outcome.networkError} text={outcome.failure ?? (general.length ? general.join(' ') : null)} />
      {access ? (
        access.included ? (
          <p>
            {humanize(access.feature)} is included in your license, {name(access.license)}.
          </p>
        ) : (
          <div className="prompt">
            <p>
              {humanize(access.feature)} is not included in your license{access.license ? `, ${name(access.license)}` : ''}.
              {target ? ` It comes with ${name(target)}: ${query.data?.licenseCatalog.find((item) => item.license === target)?.description ?? ''}` : ' No license that fits your account includes it.'}
            </p>
            {target && access.canUpgradeSelf ? (
              <button type="button" onClick={upgrade}>
                Upgrade my license to {name(target)}
              </button>
            ) : null}
            {target && !access.canUpgradeSelf ? (
              <form onSubmit={request} aria-label="Request an upgrade" noValidate>
                <TextField label="Why you need it (optional)" value={reason} onChange={(e) => setReason(e.target.value)} errors={outcome.errors.get('reason')} />
                <button type="submit">Request an upgrade to {name(target)}</button>
              </form>
            ) : null}
          </div>
        )
      ) : null}
    </section>
  );
}

/** Pending upgrade requests, for those who decide them. */
function UpgradeRequests() {
  const when = useDateTime();
  const query = useQuery(UpgradeRequestsDocument, { status: 'PENDING' });
  const [declining, setDeclining] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  const [outcome, setOutcome] = useState<Outcome>(NONE);
  const name = (license: License | null | undefined) => query.data?.licenseCatalog.find((item) => item.license === license)?.displayName ?? humanize(license);
  if (query.loading && !query.data) return <Loading />;
  const requests = query.data?.licenseUpgradeRequests;
  const approve = async (requestId: string) => {
    const result = await run(ApproveDocument, { input: { requestId } });
    setOutcome(outcomeOf(result, result.data?.approveLicenseUpgradeRequest, 'The request is approved: the license is changed.'));
    query.reload();
  };
  const decline = async (event: FormEvent) => {
    event.preventDefault();
    if (!declining) return;
    const result = await run(DeclineDocument, { input: { requestId: declining, reason: reason || null } });
    const next = outcomeOf(result, result.data?.declineLicenseUpgradeRequest, 'The request is declined.');
    setOutcome(next);
    if (next.done) {
      setDeclining(null);
      setReason('');
    }
    query.reload();
  };
  const general = unplacedErrors(outcome.errors, ['reason']);
  return (
    <section aria-labelledby="requests-title">
      <h2 id="requests-title">Upgrade requests</h2>
      <Failure networkError={query.networkError} text={query.failure} />
      {outcome.done ? <Message kind="success">{outcome.done}</Message> : null}
      <Failure networkError={outcome.networkError} text={outcome.failure ?? (general.length ? general.join(' ') : null)} />
      {requests && requests.length === 0 ? <p>No request is waiting.</p> : null}
      {requests && requests.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Member</th>
              <th scope="col">Has</th>
              <th scope="col">Asks for</th>
              <th scope="col">Reason</th>
              <th scope="col">Asked on</th>
              <th scope="col">Decision</th>
            </tr>
          </thead>
          <tbody>
            {requests.map((item) => {
              const who = item.user ? `${item.user.firstName} ${item.user.lastName}` : '—';
              return (
                <tr key={item.id}>
                  <th scope="row">{who}</th>
                  <td>{name(item.user?.license)}</td>
                  <td>{name(item.requestedLicense)}</td>
                  <td>{item.reason ?? '—'}</td>
                  <td>{when(item.createdAt)}</td>
                  <td>
                    <button type="button" onClick={() => approve(item.id)}>
                      Approve {who}
                    </button>{' '}
                    <button type="button" className="secondary" onClick={() => setDeclining(item.id)}>
                      Decline {who}
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
      {declining ? (
        <form onSubmit={decline} aria-label="Decline the request" noValidate>
          <TextField label="Reason for declining (optional)" value={reason} onChange={(e) => setReason(e.target.value)} errors={outcome.errors.get('reason')} />
          <button type="submit">Decline the request</button>{' '}
          <button type="button" className="secondary" onClick={() => setDeclining(null)}>
            Keep it
          </button>
        </form>
      ) : null}
    </section>
  );
}

export default function Licenses() {
  const viewer = useViewer();
  const can = useCan();
  return (
    <section aria-labelledby="licenses-title">
      <h1 id="licenses-title">Licenses</h1>
      {viewer.user ? <MyLicense userId={viewer.user.id} /> : <p>The support account holds no license.</p>}
      {can('EDIT_OTHER_USERS') ? <UpgradeRequests /> : null}
    </section>
  );
}
