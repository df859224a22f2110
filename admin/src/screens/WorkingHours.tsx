// The working hours of a practitioner or shared schedule: weekly intervals in the
// organization's local time, the slot length, and dated exceptions (closed or other hours).
import { type FormEvent, useEffect, useState } from 'react';
import { run } from '../api';
import { graphql } from '../gql';
import type { Weekday } from '../gql/graphql';
import { useQuery } from '../hooks';
import { describeErrors, humanize } from '../logic';
import { Link } from '../router';
import { rowKey, shortTime, WEEKDAYS } from '../schedule';
import { Failure, FieldErrors, Loading, Message, SelectField, TextField } from '../ui';
import { useCan, useDateTime, useViewer } from '../viewer';
import './schedule.css';
import { keepOwnerInAddress, OwnerPicker, ownerFromAddress, ownerName, useOwners } from './owners';

const HoursDocument = graphql(`
  query ScheduleHours($ownerId: ID!) {
    schedule(ownerId: $ownerId) {
      ownerId
      hasWorkingHours
      slotMinutes
      updatedAt
      weekly {
        weekday
        start
        end
      }
      exceptions {
        date
        closed
        intervals {
          start
          end
        }
      }
    }
  }
`);

const SetHoursDocument = graphql(`
  mutation SetWorkingHours($input: SetWorkingHoursInput!) {
    setWorkingHours(input: $input) {
      schedule {
        ownerId
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

const AddExceptionDocument = graphql(`
  mutation AddScheduleException($input: AddScheduleExceptionInput!) {
    addScheduleException(input: $input) {
      schedule {
        ownerId
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

const RemoveExceptionDocument = graphql(`
  mutation RemoveScheduleException($input: RemoveScheduleExceptionInput!) {
    removeScheduleException(input: $input) {
      schedule {
        ownerId
      }
      errors {
        code
        message
        field
      }
    }
  }
`);

type Row = { weekday: string; start: string; end: string };
type Interval = { start: string; end: string };
type Outcome = { done: string | null; failure: string | null; networkError: boolean; errors: Map<string, string[]> };
const NONE: Outcome = { done: null, failure: null, networkError: false, errors: new Map() };

type PayloadLike = { errors: { message: string; field?: string[] | null }[] } | null | undefined;

function outcomeOf(result: { errors: Parameters<typeof describeErrors>[0]; networkError: boolean }, payload: PayloadLike, done: string): Outcome {
  const errors = new Map<string, string[]>();
  for (const error of payload?.errors ?? []) {
    const key = rowKey(error.field);
    errors.set(key, [...(errors.get(key) ?? []), error.message]);
  }
  const ok = !!payload && payload.errors.length === 0;
  return { done: ok ? done : null, failure: describeErrors(result.errors), networkError: result.networkError, errors };
}

/** Errors of the form that no control shows, for a message at its top. */
function leftOver(errors: Map<string, string[]>, shown: (key: string) => boolean): string | null {
  const out: string[] = [];
  for (const [key, messages] of errors) if (!shown(key)) out.push(...messages);
  return out.length ? out.join(' ') : null;
}

const WEEKDAY_OPTIONS = WEEKDAYS.map((day) => ({ value: day, label: humanize(day) }));

function Intervals({ rows, onChange, errors, prefix, withWeekday }: { rows: Row[]; onChange: (rows: Row[]) => void; errors: Map<string, string[]>; prefix: string; withWeekday: boolean }) {
  const set = (index: number, change: Partial<Row>) => onChange(rows.map((row, i) => (i === index ? { ...row, ...change } : row)));
  return (
    <>
      {rows.map((row, index) => {
        const name = withWeekday ? `${humanize(row.weekday)} interval ${index + 1}` : `Interval ${index + 1}`;
        const rowErrors = errors.get(`${prefix}.${index}`);
        return (
          <fieldset key={index} className="interval">
            <legend>{name}</legend>
            {withWeekday ? <SelectField label="Weekday" value={row.weekday} onChange={(e) => set(index, { weekday: e.target.value })} options={WEEKDAY_OPTIONS} /> : null}
            <TextField label="From" type="time" value={row.start} onChange={(e) => set(index, { start: e.target.value })} errors={rowErrors} />
            <TextField label="To" type="time" value={row.end} onChange={(e) => set(index, { end: e.target.value })} />
            <button type="button" className="secondary" aria-label={`Remove ${name.toLowerCase()}`} onClick={() => onChange(rows.filter((_, i) => i !== index))}>
              Remove
            </button>
          </fieldset>
        );
      })}
    </>
  );
}

function WeeklyForm({ ownerId, schedule, onSaved }: { ownerId: string; schedule: { slotMinutes?: number | null; weekly: { weekday: string; start: unknown; end: unknown }[] }; onSaved: () => void }) {
  const [rows, setRows] = useState<Row[]>([]);
  const [slot, setSlot] = useState('15');
  const [outcome, setOutcome] = useState<Outcome>(NONE);
  useEffect(() => {
    setRows(schedule.weekly.map((row) => ({ weekday: row.weekday, start: shortTime(row.start), end: shortTime(row.end) })));
    setSlot(String(schedule.slotMinutes ?? 15));
  }, [schedule]);
  const save = async (event: FormEvent) => {
    event.preventDefault();
    const weekly = rows.map((row) => ({ weekday: row.weekday as Weekday, start: row.start, end: row.end }));
    const result = await run(SetHoursDocument, { input: { ownerId, weekly, slotMinutes: Number(slot) || 0 } });
    const next = outcomeOf(result, result.data?.setWorkingHours, 'The working hours are saved.');
    setOutcome(next);
    if (next.done) onSaved();
  };
  const last = rows[rows.length - 1];
  return (
    <form onSubmit={save} aria-labelledby="weekly-title" noValidate>
      <h2 id="weekly-title">Weekly hours</h2>
      <p className="hint">Local wall-clock time. A weekday without an interval is closed.</p>
      {outcome.done ? <Message kind="success">{outcome.done}</Message> : null}
      <Failure networkError={outcome.networkError} text={outcome.failure ?? leftOver(outcome.errors, (key) => key === 'slotMinutes' || key === 'weekly' || key.startsWith('weekly.'))} />
      <Intervals rows={rows} onChange={setRows} errors={outcome.errors} prefix="weekly" withWeekday />
      <FieldErrors id="weekly-error" messages={outcome.errors.get('weekly')} />
      <p>
        <button type="button" className="secondary" onClick={() => setRows([...rows, { weekday: last?.weekday ?? 'MONDAY', start: '09:00', end: '17:00' }])}>
          Add an interval
        </button>
      </p>
      <TextField
        label="Slot length in minutes"
        type="number"
        min={5}
        max={240}
        value={slot}
        onChange={(e) => setSlot(e.target.value)}
        errors={outcome.errors.get('slotMinutes')}
        hint="Appointments start on this grid, 5 to 240 minutes"
      />
      <button type="submit">Save the working hours</button>
    </form>
  );
}

function ExceptionForm({ ownerId, onSaved }: { ownerId: string; onSaved: () => void }) {
  const [date, setDate] = useState('');
  const [closed, setClosed] = useState(true);
  const [rows, setRows] = useState<Row[]>([{ weekday: 'MONDAY', start: '09:00', end: '12:00' }]);
  const [outcome, setOutcome] = useState<Outcome>(NONE);
  const add = async (event: FormEvent) => {
    event.preventDefault();
    const intervals: Interval[] = closed ? [] : rows.map((row) => ({ start: row.start, end: row.end }));
    const result = await run(AddExceptionDocument, { input: { ownerId, date, closed, intervals: closed ? null : intervals } });
    const next = outcomeOf(result, result.data?.addScheduleException, `The exception of ${date} is saved.`);
    setOutcome(next);
    if (next.done) onSaved();
  };
  return (
    <form onSubmit={add} aria-labelledby="exception-title" noValidate>
      <h3 id="exception-title">Add an exception</h3>
      {outcome.done ? <Message kind="success">{outcome.done}</Message> : null}
      <Failure networkError={outcome.networkError} text={outcome.failure ?? leftOver(outcome.errors, (key) => key === 'date' || key === 'intervals' || key.startsWith('intervals.'))} />
      <TextField label="Date" type="date" value={date} onChange={(e) => setDate(e.target.value)} errors={outcome.errors.get('date')} />
      <label className="check">
        <input type="checkbox" checked={closed} onChange={(e) => setClosed(e.target.checked)} /> Closed all day
      </label>
      {closed ? null : (
        <>
          <FieldErrors id="exception-intervals-error" messages={outcome.errors.get('intervals')} />
          <Intervals rows={rows} onChange={setRows} errors={outcome.errors} prefix="intervals" withWeekday={false} />
          <p>
            <button type="button" className="secondary" onClick={() => setRows([...rows, { weekday: 'MONDAY', start: '13:00', end: '17:00' }])}>
              Add an interval
            </button>
          </p>
        </>
      )}
      <button type="submit">Add the exception</button>
    </form>
  );
}

export default function WorkingHours() {
  const viewer = useViewer();
  const when = useDateTime();
  // Without MANAGE_SCHEDULE a practitioner sees its own schedule only: no picker, no
  // appointments (those need the permission).
  const manages = useCan()('MANAGE_SCHEDULE');
  const own = manages ? null : viewer.user;
  const { owners, failure: ownersFailure, networkError: ownersNetwork } = useOwners(!manages);
  const [chosen, setOwnerId] = useState(ownerFromAddress);
  const ownerId = own ? own.id : chosen;
  const query = useQuery(HoursDocument, { ownerId }, !ownerId);
  const [removed, setRemoved] = useState<Outcome>(NONE);
  const schedule = query.data?.schedule;
  const owner = own ?? owners.find((candidate) => candidate.id === ownerId);
  const choose = (id: string) => {
    setOwnerId(id);
    keepOwnerInAddress(id);
    setRemoved(NONE);
  };
  const remove = async (date: string) => {
    const result = await run(RemoveExceptionDocument, { input: { ownerId, date } });
    const next = outcomeOf(result, result.data?.removeScheduleException, `The exception of ${date} is removed.`);
    setRemoved({ ...next, failure: next.failure ?? leftOver(next.errors, () => false) });
    if (next.done) query.reload();
  };
  return (
    <section aria-labelledby="hours-title">
      <h1 id="hours-title">{own ? 'Your working hours' : 'Working hours'}</h1>
      {own ? null : (
        <>
          <Failure networkError={ownersNetwork} text={ownersFailure} />
          <OwnerPicker owners={owners} value={ownerId} onChange={choose} />
        </>
      )}
      {!ownerId ? <p>Choose a practitioner or a shared schedule to see its working hours.</p> : null}
      {ownerId && query.loading && !query.data ? <Loading /> : null}
      {ownerId ? <Failure networkError={query.networkError} text={query.failure} /> : null}
      {ownerId && schedule ? (
        <>
          <p>
            {schedule.hasWorkingHours
              ? `Last changed ${when(schedule.updatedAt)}. Times are in ${viewer.organization.timeZone}.`
              : own
                ? 'You have no working hours yet: you can be booked at any time.'
                : `${ownerName(owner)} has no working hours yet: it can be booked at any time.`}{' '}
            {own ? null : <Link to={`/appointments?owner=${encodeURIComponent(ownerId)}`}>Appointments of {ownerName(owner)}</Link>}
          </p>
          <WeeklyForm ownerId={ownerId} schedule={schedule} onSaved={query.reload} />
          <section aria-labelledby="exceptions-title">
            <h2 id="exceptions-title">Exceptions</h2>
            {removed.done ? <Message kind="success">{removed.done}</Message> : null}
            <Failure networkError={removed.networkError} text={removed.failure} />
            {schedule.exceptions.length ? (
              <table>
                <thead>
                  <tr>
                    <th scope="col">Date</th>
                    <th scope="col">Hours</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {schedule.exceptions.map((exception) => (
                    <tr key={exception.date}>
                      <th scope="row">{exception.date}</th>
                      <td>{exception.closed ? 'Closed' : exception.intervals.map((i) => `${shortTime(i.start)}–${shortTime(i.end)}`).join(', ')}</td>
                      <td>
                        <button type="button" className="secondary" aria-label={`Remove the exception of ${exception.date}`} onClick={() => remove(exception.date)}>
                          Remove
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <p>No exception: every date follows the weekly hours.</p>
            )}
            {schedule.hasWorkingHours ? <ExceptionForm ownerId={ownerId} onSaved={query.reload} /> : <p className="hint">Set the weekly hours before adding exceptions.</p>}
          </section>
        </>
      ) : null}
    </section>
  );
}
