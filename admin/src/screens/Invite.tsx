import { type FormEvent, useState } from 'react';
import { run } from '../api';
import { graphql } from '../gql';
import type { Classification, License, UserType } from '../gql/graphql';
import { useQuery } from '../hooks';
import { describeErrors, errorsByField, unplacedErrors } from '../logic';
import { navigate } from '../router';
import { Failure, Loading, SelectField, TextField } from '../ui';

const InviteFormDocument = graphql(`
  query InviteForm {
    licenseCatalog {
      license
      userType
      classification
      displayName
      description
    }
    roles {
      id
      name
    }
    users(filter: { type: PRACTITIONER, status: ACTIVE }, first: 100) {
      edges {
        node {
          id
          firstName
          lastName
        }
      }
    }
  }
`);

const InviteUserDocument = graphql(`
  mutation InviteUser($input: InviteUserInput!) {
    inviteUser(input: $input) {
      user {
        id
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

const CreateServiceAccountDocument = graphql(`
  mutation CreateServiceAccount($input: CreateServiceAccountInput!) {
    createServiceAccount(input: $input) {
      user {
        id
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

const SHOWN = ['displayName', 'email', 'type', 'firstName', 'lastName', 'classification', 'license', 'title', 'position', 'billingNumber', 'expectedEndOfTraining', 'startDate', 'endDate', 'practitionerId', 'roleIds'];

export default function Invite() {
  const form = useQuery(InviteFormDocument);
  const [type, setType] = useState<UserType>('PRACTITIONER');
  const [classification, setClassification] = useState<Classification>('STANDARD');
  const [license, setLicense] = useState<License | ''>('');
  const [values, setValues] = useState<Record<string, string>>({});
  const [roleIds, setRoleIds] = useState<string[]>([]);
  const [errors, setErrors] = useState(new Map<string, string[]>());
  const [failure, setFailure] = useState<string | null>(null);
  const [networkError, setNetworkError] = useState(false);
  const [busy, setBusy] = useState(false);

  const set = (name: string) => (event: { target: { value: string } }) => setValues({ ...values, [name]: event.target.value });
  const value = (name: string) => values[name] ?? '';
  const catalog = form.data?.licenseCatalog ?? [];
  const fitting = catalog.filter(
    (info) => info.userType === type && (type !== 'PRACTITIONER' || (info.classification ?? 'STANDARD') === classification),
  );
  const chosen = fitting.find((info) => info.license === license);

  const createServiceAccount = async () => {
    const result = await run(CreateServiceAccountDocument, {
      input: { email: value('email'), firstName: value('firstName'), lastName: value('lastName'), displayName: value('displayName') },
    });
    setBusy(false);
    setNetworkError(result.networkError);
    setFailure(describeErrors(result.errors));
    const payload = result.data?.createServiceAccount;
    if (!payload) return;
    setErrors(errorsByField(payload.errors));
    if (payload.user && payload.errors.length === 0) navigate(`/members/${encodeURIComponent(payload.user.id)}`);
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    if (type === 'SERVICE_ACCOUNT') {
      await createServiceAccount();
      return;
    }
    const practitioner = type === 'PRACTITIONER';
    const result = await run(InviteUserDocument, {
      input: {
        email: value('email'),
        type,
        firstName: value('firstName'),
        lastName: value('lastName'),
        classification: practitioner ? classification : null,
        license: license || null,
        title: value('title') || null,
        position: value('position') || null,
        billingNumber: practitioner && value('billingNumber') ? value('billingNumber') : null,
        expectedEndOfTraining: practitioner && classification === 'CLINICAL_TRAINEE' ? value('expectedEndOfTraining') || null : null,
        locum:
          practitioner && classification === 'LOCUM'
            ? { practitionerId: value('practitionerId') || null, startDate: value('startDate') || null, endDate: value('endDate') || null }
            : null,
        roleIds,
      },
    });
    setBusy(false);
    setNetworkError(result.networkError);
    setFailure(describeErrors(result.errors));
    const payload = result.data?.inviteUser;
    if (!payload) return;
    setErrors(errorsByField(payload.errors));
    if (payload.user && payload.errors.length === 0) navigate(`/members/${encodeURIComponent(payload.user.id)}?invited=1`);
  };

  if (form.loading) return <Loading />;
  const general = unplacedErrors(errors, SHOWN);
  return (
    <section aria-labelledby="invite-title">
      <h1 id="invite-title">Invite a member</h1>
      <Failure networkError={form.networkError || networkError} text={form.failure ?? failure ?? (general.length ? general.join(' ') : null)} />
      <form onSubmit={submit} noValidate>
        <TextField label="Email" type="email" required value={value('email')} onChange={set('email')} errors={errors.get('email')} />
        <SelectField
          label="Type"
          value={type}
          onChange={(e) => {
            setType(e.target.value as UserType);
            setLicense('');
          }}
          errors={errors.get('type')}
          options={[
            { value: 'PRACTITIONER', label: 'Practitioner' },
            { value: 'STAFF', label: 'Staff' },
            { value: 'SERVICE_ACCOUNT', label: 'Service account (an integration; never signs in)' },
          ]}
        />
        {type === 'SERVICE_ACCOUNT' ? (
          <TextField
            label="Display name"
            hint="The name the service account is shown by; first and last name are its manager's."
            value={value('displayName')}
            onChange={set('displayName')}
            errors={errors.get('displayName')}
          />
        ) : null}
        {type === 'PRACTITIONER' ? (
          <SelectField
            label="Classification"
            value={classification}
            onChange={(e) => {
              setClassification(e.target.value as Classification);
              setLicense('');
            }}
            errors={errors.get('classification')}
            options={[
              { value: 'STANDARD', label: 'Standard' },
              { value: 'LOCUM', label: 'Locum' },
              { value: 'CLINICAL_TRAINEE', label: 'Clinical trainee' },
            ]}
          />
        ) : null}
        {type !== 'SERVICE_ACCOUNT' ? (
        <SelectField
          label="License"
          value={license}
          onChange={(e) => setLicense(e.target.value as License | '')}
          errors={errors.get('license')}
          options={[{ value: '', label: 'Choose a license' }, ...fitting.map((info) => ({ value: info.license, label: info.displayName }))]}
        />
        ) : null}
        {chosen ? <p className="hint">{chosen.description}</p> : null}
        <TextField label="First name" required value={value('firstName')} onChange={set('firstName')} errors={errors.get('firstName')} />
        <TextField label="Last name" required value={value('lastName')} onChange={set('lastName')} errors={errors.get('lastName')} />
        {type !== 'SERVICE_ACCOUNT' ? (
          <>
        <TextField label="Title (optional)" value={value('title')} onChange={set('title')} errors={errors.get('title')} />
        <TextField label="Position (optional)" value={value('position')} onChange={set('position')} errors={errors.get('position')} />
          </>
        ) : null}
        {type === 'PRACTITIONER' && classification !== 'CLINICAL_TRAINEE' ? (
          <TextField label="Billing number (optional)" value={value('billingNumber')} onChange={set('billingNumber')} errors={errors.get('billingNumber')} />
        ) : null}
        {type === 'PRACTITIONER' && classification === 'CLINICAL_TRAINEE' ? (
          <TextField label="Expected end of training" type="date" value={value('expectedEndOfTraining')} onChange={set('expectedEndOfTraining')} errors={errors.get('expectedEndOfTraining')} />
        ) : null}
        {type === 'PRACTITIONER' && classification === 'LOCUM' ? (
          <fieldset>
            <legend>Locum details</legend>
            <SelectField
              label="Practitioner covered"
              value={value('practitionerId')}
              onChange={set('practitionerId')}
              errors={errors.get('practitionerId')}
              options={[
                { value: '', label: 'None' },
                ...(form.data?.users?.edges ?? []).map(({ node }) => ({ value: node.id, label: `${node.firstName} ${node.lastName}` })),
              ]}
            />
            <TextField label="Start date" type="date" value={value('startDate')} onChange={set('startDate')} errors={errors.get('startDate')} />
            <TextField label="End date" type="date" value={value('endDate')} onChange={set('endDate')} errors={errors.get('endDate')} />
          </fieldset>
        ) : null}
        {form.data?.roles && type !== 'SERVICE_ACCOUNT' ? (
          <fieldset>
            <legend>Roles</legend>
            {form.data.roles.map((role) => (
              <label key={role.id} className="check">
                <input
                  type="checkbox"
                  checked={roleIds.includes(role.id)}
                  onChange={(e) => setRoleIds(e.target.checked ? [...roleIds, role.id] : roleIds.filter((id) => id !== role.id))}
                />
                {role.name}
              </label>
            ))}
          </fieldset>
        ) : null}
        <button type="submit" disabled={busy}>
          {type === 'SERVICE_ACCOUNT' ? 'Create the service account' : busy ? 'Sending…' : 'Send the invitation'}
        </button>
      </form>
    </section>
  );
}
