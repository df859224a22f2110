import { type FormEvent, useState } from 'react';
import { run } from '../api';
import { graphql } from '../gql';
import { useQuery } from '../hooks';
import { describeErrors, errorsByField, unplacedErrors } from '../logic';
import { Link } from '../router';
import { Failure, FieldErrors, Loading, Message, TextField } from '../ui';
import { useDateTime, useViewer } from '../viewer';

const ApiConsumersDocument = graphql(`
  query ApiConsumers {
    apiConsumers {
      id
      name
      issuer
      active
      lastUsedAt
      createdAt
      keys {
        kid
        fingerprint
        bits
        createdAt
        revokedAt
      }
    }
  }
`);

const CreateApiConsumerDocument = graphql(`
  mutation CreateApiConsumer($input: CreateApiConsumerInput!) {
    createApiConsumer(input: $input) {
      apiConsumer {
        id
        name
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

const AddApiConsumerKeyDocument = graphql(`
  mutation AddApiConsumerKey($input: AddApiConsumerKeyInput!) {
    addApiConsumerKey(input: $input) {
      key {
        kid
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

const RevokeApiConsumerKeyDocument = graphql(`
  mutation RevokeApiConsumerKey($input: RevokeApiConsumerKeyInput!) {
    revokeApiConsumerKey(input: $input) {
      key {
        kid
        revokedAt
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

const DeactivateApiConsumerDocument = graphql(`
  mutation DeactivateApiConsumer($input: DeactivateApiConsumerInput!) {
    deactivateApiConsumer(input: $input) {
      apiConsumer {
        id
        active
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

/** A file control that reads a PEM public key; its errors are the publicKey field's. */
function KeyFile({ id, label, errors, onRead }: { id: string; label: string; errors?: string[]; onRead: (text: string) => void }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="file"
        accept=".pem,.pub,.key,text/plain"
        aria-invalid={errors?.length ? true : undefined}
        aria-describedby={errors?.length ? `${id}-error` : undefined}
        onChange={async (e) => onRead((await e.target.files?.[0]?.text()) ?? '')}
      />
      <FieldErrors id={`${id}-error`} messages={errors} />
    </div>
  );
}

export default function Consumers() {
  const viewer = useViewer();
  const when = useDateTime();
  const support = viewer.kind === 'SUPPORT';
  const query = useQuery(ApiConsumersDocument);
  const [outcome, setOutcome] = useState<Outcome>(NONE);
  const [create, setCreate] = useState({ name: '', issuer: '', kid: '', publicKey: '' });
  const [adding, setAdding] = useState<{ consumerId: string; kid: string; publicKey: string } | null>(null);
  // Which form the last payload's errors belong to: "create" or a consumer's id.
  const [scope, setScope] = useState('');
  const fieldErrors = (form: string, field: string) => (scope === form ? outcome.errors.get(field) : undefined);

  if (query.loading && !query.data) return <Loading />;
  const consumers = query.data?.apiConsumers;
  if (!consumers) return <Failure networkError={query.networkError} text={query.failure ?? 'The API consumers could not be read.'} />;

  const after = (next: Outcome) => {
    setOutcome(next);
    if (next.done) query.reload();
    return !!next.done;
  };
  const submitCreate = async (event: FormEvent) => {
    event.preventDefault();
    const input = { name: create.name, publicKey: create.publicKey, issuer: create.issuer.trim() || null, kid: create.kid.trim() || null };
    setScope('create');
    const result = await run(CreateApiConsumerDocument, { input });
    if (after(outcomeOf(result, result.data?.createApiConsumer, `The API consumer ${create.name} is created.`))) setCreate({ name: '', issuer: '', kid: '', publicKey: '' });
  };
  const submitKey = async (event: FormEvent) => {
    event.preventDefault();
    if (!adding) return;
    setScope(adding.consumerId);
    const result = await run(AddApiConsumerKeyDocument, { input: adding });
    if (after(outcomeOf(result, result.data?.addApiConsumerKey, `The key ${adding.kid} is added.`))) setAdding(null);
  };
  const revoke = async (consumerId: string, kid: string) => {
    const result = await run(RevokeApiConsumerKeyDocument, { input: { consumerId, kid } });
    after(outcomeOf(result, result.data?.revokeApiConsumerKey, `The key ${kid} is revoked.`));
  };
  const deactivate = async (consumerId: string, name: string) => {
    const result = await run(DeactivateApiConsumerDocument, { input: { consumerId } });
    after(outcomeOf(result, result.data?.deactivateApiConsumer, `${name} is deactivated: its tokens are refused from now on.`));
  };
  const general = unplacedErrors(outcome.errors, ['name', 'issuer', 'kid', 'publicKey']);
  return (
    <section aria-labelledby="consumers-title">
      <h1 id="consumers-title">API consumers</h1>
      {outcome.done ? <Message kind="success">{outcome.done}</Message> : null}
      <Failure networkError={outcome.networkError} text={outcome.failure ?? (general.length ? general.join(' ') : null)} />
      {consumers.length === 0 ? <p>No API consumer yet.</p> : null}
      {consumers.map((consumer) => (
        <article key={consumer.id} aria-labelledby={`consumer-${consumer.id}`} className="card">
          <h2 id={`consumer-${consumer.id}`}>
            {consumer.name}
            {consumer.active ? '' : ' (deactivated)'}
          </h2>
          <p>
            Issuer {consumer.issuer}; created {when(consumer.createdAt)}; last used {when(consumer.lastUsedAt)}.{' '}
            <Link to={`/api-logs?consumer=${encodeURIComponent(consumer.id)}`}>Its API logs</Link>
          </p>
          <table>
            <caption>Keys of {consumer.name}</caption>
            <thead>
              <tr>
                <th scope="col">Key id</th>
                <th scope="col">Fingerprint</th>
                <th scope="col">Bits</th>
                <th scope="col">Added</th>
                <th scope="col">Revoked</th>
                {support ? <th scope="col">Actions</th> : null}
              </tr>
            </thead>
            <tbody>
              {consumer.keys.map((key) => (
                <tr key={key.fingerprint}>
                  <th scope="row">{key.kid ?? '—'}</th>
                  <td>
                    <code>{key.fingerprint}</code>
                  </td>
                  <td>{key.bits}</td>
                  <td>{when(key.createdAt)}</td>
                  <td>{key.revokedAt ? when(key.revokedAt) : 'No'}</td>
                  {support ? (
                    <td>
                      {!key.revokedAt && key.kid && consumer.active ? (
                        <button type="button" className="secondary" onClick={() => revoke(consumer.id, key.kid!)}>
                          Revoke key {key.kid}
                        </button>
                      ) : null}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
          {support && consumer.active ? (
            <p>
              <button type="button" className="secondary" onClick={() => setAdding({ consumerId: consumer.id, kid: '', publicKey: '' })}>
                Add a key to {consumer.name}
              </button>{' '}
              <button type="button" className="secondary" onClick={() => deactivate(consumer.id, consumer.name)}>
                Deactivate {consumer.name}
              </button>
            </p>
          ) : null}
          {adding && adding.consumerId === consumer.id ? (
            <form onSubmit={submitKey} aria-label={`New key for ${consumer.name}`} noValidate>
              <TextField label="Key id (kid)" value={adding.kid} onChange={(e) => setAdding({ ...adding, kid: e.target.value })} errors={fieldErrors(consumer.id, 'kid')} />
              <KeyFile id={`key-file-${consumer.id}`} label="Public key file (PEM)" errors={fieldErrors(consumer.id, 'publicKey')} onRead={(text) => setAdding({ ...adding, publicKey: text })} />
              <button type="submit">Add the key</button>
            </form>
          ) : null}
        </article>
      ))}
      {support ? (
        <form onSubmit={submitCreate} aria-labelledby="new-consumer-title" noValidate>
          <h2 id="new-consumer-title">New API consumer</h2>
          <TextField label="Name" value={create.name} onChange={(e) => setCreate({ ...create, name: e.target.value })} errors={fieldErrors('create', 'name')} />
          <TextField label="Issuer (optional)" hint="The iss claim of its tokens; made from the name when empty." value={create.issuer} onChange={(e) => setCreate({ ...create, issuer: e.target.value })} errors={fieldErrors('create', 'issuer')} />
          <TextField label="First key id (optional)" value={create.kid} onChange={(e) => setCreate({ ...create, kid: e.target.value })} errors={fieldErrors('create', 'kid')} />
          <KeyFile id="new-consumer-key" label="Its public key file (PEM)" errors={fieldErrors('create', 'publicKey')} onRead={(text) => setCreate({ ...create, publicKey: text })} />
          <button type="submit">Create the API consumer</button>
        </form>
      ) : null}
    </section>
  );
}
