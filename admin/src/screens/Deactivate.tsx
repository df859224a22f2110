import { type FormEvent, useState } from 'react';
import { run } from '../api';
import { graphql } from '../gql';
import type { DeactivateUserMutation, HandoverAction } from '../gql/graphql';
import { useQuery } from '../hooks';
import { describeErrors, errorsByGroup, humanize, unplacedErrors } from '../logic';
import { Link } from '../router';
import { Failure, FieldErrors, Loading, SelectField, TextField } from '../ui';
import { useDateTime } from '../viewer';

const PreviewDocument = graphql(`
  query DeactivationWindow($id: ID!) {
    deactivationPreview(userId: $id) {
      user {
        id
        firstName
        lastName
        displayName
        type
      }
      futureAppointments {
        totalCount
        edges {
          node {
            id
            start
            durationMinutes
            kind
          }
        }
      }
      recurringQuestionnaires {
        totalCount
      }
      sentQuestionnaires {
        totalCount
      }
      inboxMessages {
        totalCount
      }
      labIntegrations {
        totalCount
        edges {
          node {
            id
            name
            isMain
          }
        }
      }
      mdBillingConnection {
        id
        accountNumber
      }
    }
    users(filter: { status: ACTIVE }, first: 100) {
      edges {
        node {
          id
          firstName
          lastName
          displayName
          type
        }
      }
    }
  }
`);

const DeactivateUserDocument = graphql(`
  mutation DeactivateUser($input: DeactivateUserInput!) {
    deactivateUser(input: $input) {
      user {
        id
        status
        deactivatedAt
      }
      report {
        movedAppointmentIds
        cancelledAppointmentIds
        movedQuestionnaireIds
        removedQuestionnaireIds
        forwardedMessageIds
        hiddenMessageIds
        transferredLabIntegrationIds
        disconnectedMdBillingIds
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

type Kind = 'appointments' | 'recurringQuestionnaires' | 'sentQuestionnaires';
const KINDS: { kind: Kind; label: string }[] = [
  { kind: 'appointments', label: 'Future appointments' },
  { kind: 'recurringQuestionnaires', label: 'Recurring questionnaires' },
  { kind: 'sentQuestionnaires', label: 'Sent questionnaires' },
];

type Report = NonNullable<NonNullable<DeactivateUserMutation['deactivateUser']>['report']>;

export default function Deactivate({ params }: { params: Record<string, string> }) {
  const id = params.id;
  const when = useDateTime();
  const query = useQuery(PreviewDocument, { id });
  const [choices, setChoices] = useState<Record<Kind, { action: HandoverAction; to: string }>>({
    appointments: { action: 'CANCEL', to: '' },
    recurringQuestionnaires: { action: 'CANCEL', to: '' },
    sentQuestionnaires: { action: 'CANCEL', to: '' },
  });
  const [forwardTo, setForwardTo] = useState('');
  const [successors, setSuccessors] = useState<Record<string, string>>({});
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState(new Map<string, string[]>());
  const [failure, setFailure] = useState<string | null>(null);
  const [networkError, setNetworkError] = useState(false);
  const [report, setReport] = useState<Report | null>(null);
  const [busy, setBusy] = useState(false);

  const preview = query.data?.deactivationPreview;
  if (query.loading && !preview) return <Loading />;
  if (!preview) return <Failure networkError={query.networkError} text={query.failure ?? 'There is no such member.'} />;

  const others = (query.data?.users?.edges ?? []).map((edge) => edge.node).filter((user) => user.id !== id);
  const practitioners = others.filter((user) => user.type === 'PRACTITIONER');
  const label = (user: { displayName?: string | null; firstName: string; lastName: string }) => user.displayName || `${user.firstName} ${user.lastName}`;
  const name = preview.user ? label(preview.user) : 'this member';
  const counts: Record<Kind, number> = {
    appointments: preview.futureAppointments?.totalCount ?? 0,
    recurringQuestionnaires: preview.recurringQuestionnaires?.totalCount ?? 0,
    sentQuestionnaires: preview.sentQuestionnaires?.totalCount ?? 0,
  };
  const labs = (preview.labIntegrations?.edges ?? []).map((edge) => edge.node);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const handover = (kind: Kind) => ({ action: choices[kind].action, toPractitionerId: choices[kind].action === 'MOVE' ? choices[kind].to || null : null });
    const result = await run(DeactivateUserDocument, {
      input: {
        userId: id,
        appointments: handover('appointments'),
        recurringQuestionnaires: handover('recurringQuestionnaires'),
        sentQuestionnaires: handover('sentQuestionnaires'),
        forwardInboxToUserId: forwardTo || null,
        labIntegrationSuccessors: labs.filter((lab) => successors[lab.id]).map((lab) => ({ labIntegrationId: lab.id, userId: successors[lab.id] })),
        password,
      },
    });
    setBusy(false);
    setNetworkError(result.networkError);
    setFailure(describeErrors(result.errors));
    const payload = result.data?.deactivateUser;
    if (!payload) return;
    setErrors(errorsByGroup(payload.errors));
    if (payload.report && payload.errors.length === 0) {
      setReport(payload.report);
      setPassword('');
    }
  };

  if (report) {
    const line = (text: string, ids: readonly string[]) => (ids.length ? <li>{`${text}: ${ids.length}`}</li> : null);
    return (
      <section aria-labelledby="report-title">
        <h1 id="report-title">{name} is deactivated</h1>
        <h2>Report</h2>
        <ul>
          {line('Appointments moved', report.movedAppointmentIds)}
          {line('Appointments cancelled', report.cancelledAppointmentIds)}
          {line('Questionnaires moved', report.movedQuestionnaireIds)}
          {line('Questionnaires removed', report.removedQuestionnaireIds)}
          {line('Inbox messages forwarded', report.forwardedMessageIds)}
          {line('Inbox messages hidden', report.hiddenMessageIds)}
          {line('Lab integrations transferred', report.transferredLabIntegrationIds)}
          {line('MDBilling connections disconnected', report.disconnectedMdBillingIds)}
        </ul>
        <p>
          <Link to={`/members/${encodeURIComponent(id)}`}>Back to the member</Link> · <Link to={`/members/${encodeURIComponent(id)}/handover`}>Handover report</Link>
        </p>
      </section>
    );
  }

  const general = unplacedErrors(errors, ['appointments', 'recurringQuestionnaires', 'sentQuestionnaires', 'forwardInboxToUserId', 'labIntegrationSuccessors', 'password']);
  return (
    <section aria-labelledby="deactivate-title">
      <p>
        <Link to={`/members/${encodeURIComponent(id)}`}>Back to the member</Link>
      </p>
      <h1 id="deactivate-title">Deactivate {name}</h1>
      <Failure networkError={networkError} text={failure ?? (general.length ? general.join(' ') : null)} />
      <form onSubmit={submit} noValidate>
        {KINDS.map(({ kind, label: title }) => (
          <fieldset key={kind} aria-describedby={errors.get(kind) ? `${kind}-errors` : undefined}>
            <legend>
              {title} ({counts[kind]})
            </legend>
            {kind === 'appointments' && preview.futureAppointments?.edges.length ? (
              <ul>
                {preview.futureAppointments.edges.map(({ node }) => (
                  <li key={node.id}>
                    {when(node.start)}, {node.durationMinutes} min, {humanize(node.kind)}
                  </li>
                ))}
              </ul>
            ) : null}
            <SelectField
              label={`What happens to the ${title.toLowerCase()}`}
              value={choices[kind].action}
              onChange={(e) => setChoices({ ...choices, [kind]: { ...choices[kind], action: e.target.value as HandoverAction } })}
              options={[
                { value: 'CANCEL', label: 'Cancel them' },
                { value: 'MOVE', label: 'Move them to another practitioner' },
              ]}
            />
            {choices[kind].action === 'MOVE' ? (
              <SelectField
                label={`Practitioner receiving the ${title.toLowerCase()}`}
                value={choices[kind].to}
                onChange={(e) => setChoices({ ...choices, [kind]: { ...choices[kind], to: e.target.value } })}
                options={[{ value: '', label: 'Choose a practitioner' }, ...practitioners.map((user) => ({ value: user.id, label: label(user) }))]}
              />
            ) : null}
            <FieldErrors id={`${kind}-errors`} messages={errors.get(kind)} />
          </fieldset>
        ))}
        <fieldset>
          <legend>Inbox ({preview.inboxMessages?.totalCount ?? 0} messages)</legend>
          <SelectField
            label="Forward the inbox to"
            value={forwardTo}
            onChange={(e) => setForwardTo(e.target.value)}
            errors={errors.get('forwardInboxToUserId')}
            options={[{ value: '', label: 'Nobody (hide the messages)' }, ...others.map((user) => ({ value: user.id, label: label(user) }))]}
          />
        </fieldset>
        {labs.length ? (
          <fieldset>
            <legend>Lab integrations</legend>
            {labs.map((lab) => (
              <SelectField
                key={lab.id}
                label={`Successor for ${lab.name}${lab.isMain ? ' (main)' : ''}`}
                value={successors[lab.id] ?? ''}
                onChange={(e) => setSuccessors({ ...successors, [lab.id]: e.target.value })}
                options={[{ value: '', label: 'Choose a member' }, ...others.map((user) => ({ value: user.id, label: label(user) }))]}
              />
            ))}
            <FieldErrors id="labs-errors" messages={errors.get('labIntegrationSuccessors')} />
          </fieldset>
        ) : null}
        {preview.mdBillingConnection ? <p>The MDBilling connection {preview.mdBillingConnection.accountNumber} will be disconnected.</p> : null}
        <TextField
          label="Your password, to confirm"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          errors={errors.get('password')}
        />
        <button type="submit" disabled={busy}>
          Deactivate {name}
        </button>
      </form>
    </section>
  );
}
