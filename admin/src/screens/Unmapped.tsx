import { type FormEvent, useEffect, useState } from 'react';
import { run } from '../api';
import { graphql } from '../gql';
import type { License } from '../gql/graphql';
import { useQuery } from '../hooks';
import { describeErrors, errorsByField, humanize, nextInWorklist } from '../logic';
import { Failure, Loading, Message, SelectField } from '../ui';

const WorklistDocument = graphql(`
  query UnmappedWorklist {
    unmappedUsers {
      user {
        id
        email
        firstName
        lastName
        type
        classification
      }
      reason
      proposedLicense
      confidence
      evidence
    }
    licenseCatalog {
      license
      userType
      classification
      displayName
      description
    }
  }
`);

const SetUserLicenseDocument = graphql(`
  mutation SetUserLicense($input: SetUserLicenseInput!) {
    setUserLicense(input: $input) {
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

/** The users without a license, one at a time: choose a license and "submit", or
 * "submit and next" to go on to the next user of the worklist. */
export default function Unmapped() {
  const query = useQuery(WorklistDocument);
  const entries = (query.data?.unmappedUsers ?? []).filter((entry) => entry.user);
  const ids = entries.map((entry) => entry.user!.id);
  const [currentId, setCurrentId] = useState<string | null>(null);
  const [license, setLicense] = useState<License | ''>('');
  const [errors, setErrors] = useState(new Map<string, string[]>());
  const [failure, setFailure] = useState<string | null>(null);
  const [networkError, setNetworkError] = useState(false);
  const [done, setDone] = useState<string | null>(null);

  const current = entries.find((entry) => entry.user!.id === currentId) ?? entries[0];
  useEffect(() => {
    setLicense(current?.proposedLicense ?? '');
  }, [current?.user?.id, current?.proposedLicense]);

  if (query.loading && !query.data) return <Loading />;
  if (!query.data) return <Failure networkError={query.networkError} text={query.failure} />;

  const submit = async (andNext: boolean, event?: FormEvent) => {
    event?.preventDefault();
    if (!current?.user || !license) {
      setErrors(new Map([['license', ['Choose a license.']]]));
      return;
    }
    const userId = current.user.id;
    const result = await run(SetUserLicenseDocument, { input: { userId, license } });
    setNetworkError(result.networkError);
    setFailure(describeErrors(result.errors));
    const payload = result.data?.setUserLicense;
    if (!payload) return;
    setErrors(errorsByField(payload.errors));
    if (payload.errors.length) return;
    const who = `${current.user.firstName} ${current.user.lastName}`;
    setDone(`${who} now holds ${humanize(license)}.`);
    setCurrentId(andNext ? nextInWorklist(ids, userId) : userId);
    query.reload();
  };

  const fitting = current?.user
    ? query.data.licenseCatalog.filter(
        (info) => info.userType === current.user!.type && (current.user!.type !== 'PRACTITIONER' || (info.classification ?? 'STANDARD') === (current.user!.classification ?? 'STANDARD')),
      )
    : [];
  return (
    <section aria-labelledby="unmapped-title">
      <h1 id="unmapped-title">Unmapped users</h1>
      {done ? <Message kind="success">{done}</Message> : null}
      <Failure networkError={networkError} text={failure ?? (errors.get('')?.join(' ') || null)} />
      {entries.length === 0 ? (
        <p>Every user has a license.</p>
      ) : (
        <>
          <p role="status">{entries.length} left to review.</p>
          <ol className="worklist">
            {entries.map((entry) => (
              <li key={entry.user!.id} aria-current={entry === current ? 'true' : undefined}>
                {entry.user!.firstName} {entry.user!.lastName} ({entry.user!.email})
              </li>
            ))}
          </ol>
          {current?.user ? (
            <form onSubmit={(event) => submit(false, event)} aria-labelledby="current-title" noValidate>
              <h2 id="current-title">
                {current.user.firstName} {current.user.lastName}
              </h2>
              <p>
                {humanize(current.user.type)}
                {current.user.classification ? `, ${humanize(current.user.classification)}` : ''}. {current.reason}
              </p>
              {current.evidence.length ? (
                <ul>
                  {current.evidence.map((line) => (
                    <li key={line}>{line}</li>
                  ))}
                </ul>
              ) : null}
              <SelectField
                label="License"
                value={license}
                onChange={(e) => {
                  setLicense(e.target.value as License | '');
                  setErrors(new Map());
                }}
                errors={errors.get('license')}
                options={[{ value: '', label: 'Choose a license' }, ...fitting.map((info) => ({ value: info.license, label: info.displayName }))]}
              />
              <button type="submit">Submit</button>{' '}
              <button type="button" onClick={() => submit(true)}>
                Submit and next
              </button>
            </form>
          ) : null}
        </>
      )}
    </section>
  );
}
