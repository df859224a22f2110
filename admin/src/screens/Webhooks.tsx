import { type FormEvent, useState } from 'react';
import { run } from '../api';
import { graphql } from '../gql';
import type { WebhookDeliveryStatus, WebhookEvent } from '../gql/graphql';
import { useQuery } from '../hooks';
import { describeErrors, humanize } from '../logic';
import { Failure, Loading, Message, Pager, SelectField, useCursors } from '../ui';
import { useDateTime } from '../viewer';

const WebhookSubscriptionsDocument = graphql(`
  query WebhookSubscriptions {
    webhookSubscriptions {
      id
      url
      events
      description
      active
      disabledReason
      previousSecretValidUntil
      createdAt
      consumer {
        id
        name
      }
    }
  }
`);

const WebhookDeliveriesDocument = graphql(`
  query WebhookDeliveries($filter: WebhookDeliveryFilter, $after: String) {
    webhookDeliveries(filter: $filter, first: 20, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          subscriptionId
          messageId
          event
          status
          attemptCount
          nextAttemptAt
          lastHttpStatus
          createdAt
          deliveredAt
          attempts {
            at
            httpStatus
            durationMs
            errorClass
            responseExcerpt
          }
        }
      }
    }
  }
`);

const RedeliverWebhookEventDocument = graphql(`
  mutation RedeliverWebhookEvent($input: RedeliverWebhookEventInput!) {
    redeliverWebhookEvent(input: $input) {
      delivery {
        id
        status
        nextAttemptAt
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

const EVENTS: WebhookEvent[] = [
  'APPOINTMENT_BOOKED',
  'APPOINTMENT_RESCHEDULED',
  'APPOINTMENT_CANCELLED',
  'APPOINTMENT_MOVED',
  'APPOINTMENT_STATUS_CHANGED',
  'PATIENT_REGISTERED',
  'PATIENT_UPDATED',
  'PATIENT_PORTAL_ACCESS_CHANGED',
  'USER_INVITED',
  'USER_ACTIVATED',
  'USER_UPDATED',
  'USER_DEACTIVATED',
  'USER_REACTIVATED',
  'USER_LICENSE_CHANGED',
  'SCHEDULE_CHANGED',
];
const STATUSES: WebhookDeliveryStatus[] = ['PENDING', 'DELIVERED', 'FAILED', 'CANCELLED'];

type Filter = { subscriptionId: string; event: string; status: string };
const NO_FILTER: Filter = { subscriptionId: '', event: '', status: '' };

/** Webhooks, for the owner and the support account: every API consumer's subscriptions,
 * their deliveries (filters, attempts) and redelivery. */
export default function Webhooks() {
  const when = useDateTime();
  const subscriptions = useQuery(WebhookSubscriptionsDocument);
  const [draft, setDraft] = useState<Filter>(NO_FILTER);
  const [filter, setFilter] = useState<Filter>(NO_FILTER);
  const { cursors, setCursors, after } = useCursors();
    const variables = {
    filter: {
      subscriptionId: filter.subscriptionId || null,
      event: (filter.event || null) as WebhookEvent | null,
      status: (filter.status || null) as WebhookDeliveryStatus | null,
    },
    after,
  };
  const deliveries = useQuery(WebhookDeliveriesDocument, variables);
  const [outcome, setOutcome] = useState<{ text: string | null; networkError: boolean; success: string | null }>({ text: null, networkError: false, success: null });

  const list = subscriptions.data?.webhookSubscriptions ?? [];
  const urlOf = new Map(list.map((subscription) => [subscription.id, subscription.url]));

  const apply = (event: FormEvent) => {
    event.preventDefault();
    setFilter(draft);
    setCursors([null]);
  };

  const redeliver = async (id: string) => {
    const result = await run(RedeliverWebhookEventDocument, { input: { deliveryId: id } });
    const payload = result.data?.redeliverWebhookEvent;
    const errors = payload?.errors.map((error) => error.message).join(' ') || null;
    setOutcome({
      text: describeErrors(result.errors) ?? errors,
      networkError: result.networkError,
      success: payload && payload.errors.length === 0 ? 'The delivery is queued again, due now, with the same message id.' : null,
    });
    deliveries.reload();
  };

  const connection = deliveries.data?.webhookDeliveries;
  return (
    <>
      <h1>Webhooks</h1>
      <h2>Subscriptions</h2>
      <Failure networkError={subscriptions.networkError} text={subscriptions.failure} />
      {subscriptions.loading && !subscriptions.data ? <Loading /> : null}
      {subscriptions.data && list.length === 0 ? <p>No API consumer subscribes to events yet.</p> : null}
      {list.length ? (
        <table>
          <caption className="visually-hidden">Webhook subscriptions of every API consumer</caption>
          <thead>
            <tr>
              <th scope="col">API consumer</th>
              <th scope="col">Address</th>
              <th scope="col">Events</th>
              <th scope="col">State</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {list.map((subscription) => (
              <tr key={subscription.id}>
                <td>{subscription.consumer?.name ?? '—'}</td>
                <td>
                  <code className="wrap">{subscription.url}</code>
                  {subscription.description ? <div>{subscription.description}</div> : null}
                </td>
                <td>{subscription.events.map(humanize).join(', ')}</td>
                <td>
                  {subscription.active ? 'Active' : `Off${subscription.disabledReason ? `: ${subscription.disabledReason}` : ''}`}
                  {subscription.previousSecretValidUntil ? <div>Previous secret signs too until {when(subscription.previousSecretValidUntil)}</div> : null}
                </td>
                <td>{when(subscription.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}

      <h2>Deliveries</h2>
      <form className="filters" onSubmit={apply} aria-label="Filter the deliveries">
        <SelectField
          label="Subscription"
          value={draft.subscriptionId}
          onChange={(e) => setDraft({ ...draft, subscriptionId: e.target.value })}
          options={[{ value: '', label: 'Any' }, ...list.map((subscription) => ({ value: subscription.id, label: `${subscription.consumer?.name ?? '—'}: ${subscription.url}` }))]}
        />
        <SelectField label="Event" value={draft.event} onChange={(e) => setDraft({ ...draft, event: e.target.value })} options={[{ value: '', label: 'Any' }, ...EVENTS.map((value) => ({ value, label: humanize(value) }))]} />
        <SelectField label="Delivery status" value={draft.status} onChange={(e) => setDraft({ ...draft, status: e.target.value })} options={[{ value: '', label: 'Any' }, ...STATUSES.map((value) => ({ value, label: humanize(value) }))]} />
        <button type="submit">Show the deliveries</button>
      </form>
      <Failure networkError={outcome.networkError} text={outcome.text} />
      <Message kind="success">{outcome.success}</Message>
      <Failure networkError={deliveries.networkError} text={deliveries.failure} />
      {deliveries.loading && !deliveries.data ? <Loading /> : null}
      {connection ? (
        <>
          <p role="status">
            {connection.totalCount} {connection.totalCount === 1 ? 'delivery' : 'deliveries'}
          </p>
          {connection.edges.length ? (
            <table>
              <caption className="visually-hidden">Webhook deliveries, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Created</th>
                  <th scope="col">Event</th>
                  <th scope="col">Subscription</th>
                  <th scope="col">Status</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {connection.edges.map(({ node }) => (
                  <tr key={node.id}>
                    <td>{when(node.createdAt)}</td>
                    <td>
                      {humanize(node.event)}
                      <div>
                        <code>{node.messageId}</code>
                      </div>
                    </td>
                    <td>
                      <code className="wrap">{urlOf.get(node.subscriptionId) ?? node.subscriptionId}</code>
                    </td>
                    <td>
                      {humanize(node.status)}
                      {node.status === 'DELIVERED' ? <div>{when(node.deliveredAt)}</div> : null}
                      {node.status === 'PENDING' && node.nextAttemptAt ? <div>next attempt {when(node.nextAttemptAt)}</div> : null}
                    </td>
                    <td>
                      {node.attempts.length === 0 ? (
                        'None yet'
                      ) : (
                        <details>
                          <summary>
                            {node.attemptCount} {node.attemptCount === 1 ? 'attempt' : 'attempts'}
                            {node.lastHttpStatus ? `, last answer ${node.lastHttpStatus}` : ''}
                          </summary>
                          <ol>
                            {node.attempts.map((attempt, index) => (
                              <li key={index}>
                                {when(attempt.at)}: {attempt.httpStatus ? `HTTP ${attempt.httpStatus}` : humanize(attempt.errorClass)} in {Math.round(attempt.durationMs)} ms
                                {attempt.responseExcerpt ? <pre className="wrap">{attempt.responseExcerpt}</pre> : null}
                              </li>
                            ))}
                          </ol>
                        </details>
                      )}
                    </td>
                    <td>
                      {(
                        <button type="button" className="secondary" onClick={() => redeliver(node.id)} aria-label={`Redeliver ${humanize(node.event)} ${node.messageId}`}>
                          Redeliver
                        </button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p>No delivery matches.</p>
          )}
          <Pager cursors={cursors} setCursors={setCursors} pageInfo={connection.pageInfo} />
        </>
      ) : null}
    </>
  );
}
