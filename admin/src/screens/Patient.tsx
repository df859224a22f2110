import { type FormEvent, useEffect, useState } from 'react';
import { run } from '../api';
import { graphql } from '../gql';
import { useQuery } from '../hooks';
import { describeErrors, errorsByField, unplacedErrors } from '../logic';
import { Link, navigate } from '../router';
import { Failure, Loading, Message, TextField } from '../ui';
import { useDateTime } from '../viewer';

const PatientDocument = graphql(`
  query Patient($id: ID!) {
    patient(id: $id) {
      id
      firstName
      lastName
      dateOfBirth
      email
      phone
      healthCardNumber
      portalAccess
      createdAt
    }
  }
`);

const RegisterPatientDocument = graphql(`
  mutation RegisterPatient($input: RegisterPatientInput!) {
    registerPatient(input: $input) {
      patient {
        id
      }
      errors {
        code
        message
        field
        relatedId
      }
    }
  }
`);

const UpdatePatientDocument = graphql(`
  mutation UpdatePatient($input: UpdatePatientInput!) {
    updatePatient(input: $input) {
      patient {
        id
      }
      errors {
        code
        message
        field
        relatedId
      }
    }
  }
`);

const SetPortalAccessDocument = graphql(`
  mutation SetPatientPortalAccess($input: SetPatientPortalAccessInput!) {
    setPatientPortalAccess(input: $input) {
      patient {
        id
        portalAccess
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

type Form = { firstName: string; lastName: string; dateOfBirth: string; email: string; phone: string; healthCardNumber: string };
const EMPTY: Form = { firstName: '', lastName: '', dateOfBirth: '', email: '', phone: '', healthCardNumber: '' };
const FIELDS: { key: keyof Form; label: string; type?: string; autoComplete?: string }[] = [
  { key: 'firstName', label: 'First name', autoComplete: 'off' },
  { key: 'lastName', label: 'Last name', autoComplete: 'off' },
  { key: 'dateOfBirth', label: 'Date of birth', type: 'date' },
  { key: 'email', label: 'Email', type: 'email', autoComplete: 'off' },
  { key: 'phone', label: 'Phone', type: 'tel', autoComplete: 'off' },
  { key: 'healthCardNumber', label: 'Health card number', autoComplete: 'off' },
];

type Outcome = { done: string | null; failure: string | null; networkError: boolean; errors: Map<string, string[]>; existing: string | null };
const NONE: Outcome = { done: null, failure: null, networkError: false, errors: new Map(), existing: null };

function PortalAccess({ id, enabled, onChanged }: { id: string; enabled: boolean; onChanged: () => void }) {
  const [outcome, setOutcome] = useState<Outcome>(NONE);
  const toggle = async () => {
    const result = await run(SetPortalAccessDocument, { input: { patientId: id, enabled: !enabled } });
    const payload = result.data?.setPatientPortalAccess;
    const ok = !!payload && payload.errors.length === 0;
    setOutcome({ ...NONE, done: ok ? (enabled ? 'Portal access is removed.' : 'Portal access is given.') : null, failure: describeErrors(result.errors) ?? (payload?.errors.map((e) => e.message).join(' ') || null), networkError: result.networkError });
    if (ok) onChanged();
  };
  return (
    <section aria-labelledby="portal-access-title">
      <h2 id="portal-access-title">Portal access</h2>
      {outcome.done ? <Message kind="success">{outcome.done}</Message> : null}
      <Failure networkError={outcome.networkError} text={outcome.failure} />
      <p>{enabled ? 'This patient may use the patient portal.' : 'This patient has no portal access.'}</p>
      <button type="button" onClick={toggle}>
        {enabled ? 'Remove portal access' : 'Give portal access'}
      </button>
    </section>
  );
}

export default function Patient({ params }: { params: Record<string, string> }) {
  const id = params.id ?? null;
  const when = useDateTime();
  const query = useQuery(PatientDocument, { id: id ?? '' }, !id);
  const [form, setForm] = useState<Form>(EMPTY);
  const [outcome, setOutcome] = useState<Outcome>(NONE);
  const patient = query.data?.patient;
  useEffect(() => {
    if (patient) {
      setForm({
        firstName: patient.firstName,
        lastName: patient.lastName,
        dateOfBirth: patient.dateOfBirth,
        email: patient.email ?? '',
        phone: patient.phone ?? '',
        healthCardNumber: patient.healthCardNumber ?? '',
      });
    } else if (!id) setForm(EMPTY);
  }, [patient, id]);

  if (id && query.loading && !query.data) return <Loading />;
  if (id && !patient) return <Failure networkError={query.networkError} text={query.failure ?? 'There is no such patient.'} />;

  const save = async (event: FormEvent) => {
    event.preventDefault();
    const optional = (value: string) => (value.trim() ? value.trim() : null);
    const common = { firstName: form.firstName, lastName: form.lastName, dateOfBirth: form.dateOfBirth, email: optional(form.email), phone: optional(form.phone), healthCardNumber: optional(form.healthCardNumber) };
    const result = id ? await run(UpdatePatientDocument, { input: { patientId: id, ...common } }) : await run(RegisterPatientDocument, { input: common });
    const payload = result.data ? ('registerPatient' in result.data ? result.data.registerPatient : result.data.updatePatient) : null;
    const ok = !!payload && payload.errors.length === 0;
    const existing = payload?.errors.find((error) => error.code === 'PATIENT_ALREADY_EXISTS')?.relatedId ?? null;
    setOutcome({ done: ok ? (id ? 'The patient is saved.' : 'The patient is registered.') : null, failure: describeErrors(result.errors), networkError: result.networkError, errors: errorsByField(payload?.errors ?? []), existing });
    if (ok && !id && payload?.patient) navigate(`/patients/${encodeURIComponent(payload.patient.id)}`);
    if (ok && id) query.reload();
  };

  const general = unplacedErrors(outcome.errors, FIELDS.map((field) => field.key));
  const title = patient ? `${patient.firstName} ${patient.lastName}` : 'Register a patient';
  return (
    <section aria-labelledby="patient-title">
      <p>
        <Link to="/patients">Back to the patients</Link>
      </p>
      <h1 id="patient-title">{title}</h1>
      {patient ? <p>Registered {when(patient.createdAt)}</p> : null}
      {outcome.done ? <Message kind="success">{outcome.done}</Message> : null}
      <Failure networkError={outcome.networkError} text={outcome.failure ?? (general.length ? general.join(' ') : null)} />
      <form onSubmit={save} aria-label={id ? 'Edit the patient' : 'Register a patient'} noValidate>
        {FIELDS.map((field) => (
          <TextField key={field.key} label={field.label} type={field.type ?? 'text'} autoComplete={field.autoComplete} value={form[field.key]} onChange={(e) => setForm({ ...form, [field.key]: e.target.value })} errors={outcome.errors.get(field.key)} />
        ))}
        {outcome.existing ? (
          <p>
            <Link to={`/patients/${encodeURIComponent(outcome.existing)}`}>Open the patient who has this health card</Link>
          </p>
        ) : null}
        <button type="submit">{id ? 'Save the patient' : 'Register the patient'}</button>
      </form>
      {patient ? <PortalAccess id={patient.id} enabled={patient.portalAccess} onChanged={query.reload} /> : null}
    </section>
  );
}
