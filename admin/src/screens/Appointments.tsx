// A week of one practitioner's (or shared schedule's) calendar: its working hours, the
// free slots availableSlots gives, its appointments; book, move, cancel, change status.
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { run } from '../api';
import { graphql } from '../gql';
import type { AppointmentKind, AppointmentStatus } from '../gql/graphql';
import { useQuery } from '../hooks';
import { describeErrors, errorsByField, humanize, unplacedErrors, zonedToIso } from '../logic';
import { Link } from '../router';
import { addDays, isOpen, localParts, shortTime, statusChanges, weekOf } from '../schedule';
import { Failure, Loading, Message, SelectField, TextField } from '../ui';
import { useCan, useDateTime, useViewer } from '../viewer';
import './schedule.css';
import { keepOwnerInAddress, OwnerPicker, ownerFromAddress, ownerName, useOwners } from './owners';

const WeekDocument = graphql(`
  query ScheduleWeek($ownerId: ID!, $from: DateTime!, $to: DateTime!, $duration: Int!) {
    schedule(ownerId: $ownerId) {
      ownerId
      hasWorkingHours
      slotMinutes
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
    availableSlots(ownerIds: [$ownerId], from: $from, to: $to, durationMinutes: $duration) {
      ownerId
      slots
    }
    appointments(filter: { practitionerId: $ownerId, startFrom: $from, startBefore: $to }, first: 100) {
      edges {
        node {
          id
          start
          end
          durationMinutes
          status
          kind
          reason
          cancelReason
          patient {
            id
            firstName
            lastName
          }
        }
      }
    }
  }
`);

const BookingPatientsDocument = graphql(`
  query BookingPatients($search: String) {
    patients(filter: { search: $search }, first: 20) {
      edges {
        node {
          id
          firstName
          lastName
          dateOfBirth
        }
      }
    }
  }
`);

const BookDocument = graphql(`
  mutation BookAppointment($input: BookAppointmentInput!) {
    bookAppointment(input: $input) {
      appointment {
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

const RescheduleDocument = graphql(`
  mutation RescheduleAppointment($input: RescheduleAppointmentInput!) {
    rescheduleAppointment(input: $input) {
      appointment {
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

const CancelDocument = graphql(`
  mutation CancelAppointment($input: CancelAppointmentInput!) {
    cancelAppointment(input: $input) {
      appointment {
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

const StatusDocument = graphql(`
  mutation SetAppointmentStatus($input: SetAppointmentStatusInput!) {
    setAppointmentStatus(input: $input) {
      appointment {
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

type Appointment = {
  id: string;
  start: string;
  end: string;
  durationMinutes: number;
  status: AppointmentStatus;
  kind: AppointmentKind;
  reason?: string | null;
  cancelReason?: string | null;
  patient?: { id: string; firstName: string; lastName: string } | null;
};

type Outcome = { failure: string | null; networkError: boolean; errors: Map<string, string[]>; outside: boolean };
const NONE: Outcome = { failure: null, networkError: false, errors: new Map(), outside: false };

type PayloadLike = { errors: { code: string; message: string; field?: string[] | null }[] } | null | undefined;

/** What a mutation's answer says: top-level failures, errors by field, and whether the
 * server refused the time as outside working hours. */
function outcomeOf(result: { errors: Parameters<typeof describeErrors>[0]; networkError: boolean }, payload: PayloadLike): Outcome {
  return {
    failure: describeErrors(result.errors),
    networkError: result.networkError,
    errors: errorsByField(payload?.errors ?? []),
    outside: !!payload?.errors.some((error) => error.code === 'OUTSIDE_WORKING_HOURS'),
  };
}

function patientName(appointment: Appointment): string {
  return appointment.patient ? `${appointment.patient.firstName} ${appointment.patient.lastName}` : 'A patient';
}

function OutsideHours({ offered, checked, onChange }: { offered: boolean; checked: boolean; onChange: (value: boolean) => void }) {
  if (!offered) return null;
  return (
    <label className="check">
      <input type="checkbox" checked={checked} onChange={(event) => onChange(event.target.checked)} /> Book outside working hours
    </label>
  );
}

/** A panel's heading takes the focus when the panel opens, so the keyboard goes on from it. */
function useFocusOnOpen() {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  return heading;
}

function BookForm({ ownerId, start: initialStart, length, onDone, onClose }: { ownerId: string; start: string; length: number; onDone: (text: string) => void; onClose: () => void }) {
  const viewer = useViewer();
  const can = useCan();
  const zone = viewer.organization.timeZone;
  const [search, setSearch] = useState('');
  const [asked, setAsked] = useState<string | null>(null);
  const patients = useQuery(BookingPatientsDocument, { search: asked }, asked === null);
  const found = patients.data?.patients?.edges.map(({ node }) => node) ?? [];
  const [patientId, setPatientId] = useState('');
  const [start, setStart] = useState(initialStart);
  const [duration, setDuration] = useState(String(length));
  const [kind, setKind] = useState<AppointmentKind>('IN_PERSON' as AppointmentKind);
  const [reason, setReason] = useState('');
  const [outside, setOutside] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(NONE);
  const offerOutside = can('MANAGE_SCHEDULE') && (outcome.outside || outside);
  const chosen = patientId || found[0]?.id || '';
  const heading = useFocusOnOpen();

  const find = (event: FormEvent) => {
    event.preventDefault();
    setAsked(search.trim());
    setPatientId('');
  };
  const book = async (event: FormEvent) => {
    event.preventDefault();
    const input = {
      practitionerId: ownerId,
      patientId: chosen,
      start: zonedToIso(start, zone) ?? start,
      durationMinutes: Number(duration) || 0,
      kind,
      reason: reason.trim() || null,
      allowOutsideWorkingHours: offerOutside && outside,
    };
    const result = await run(BookDocument, { input });
    const payload = result.data?.bookAppointment;
    const next = outcomeOf(result, payload);
    setOutcome(next);
    if (payload && payload.errors.length === 0 && payload.appointment) onDone('The appointment is booked.');
  };
  const shown = ['patientId', 'start', 'durationMinutes', 'kind', 'reason', 'allowOutsideWorkingHours'];
  const general = unplacedErrors(outcome.errors, shown);
  return (
    <section aria-labelledby="book-title" className="panel">
      <h2 id="book-title" tabIndex={-1} ref={heading}>
        Book an appointment
      </h2>
      <Failure networkError={outcome.networkError || patients.networkError} text={outcome.failure ?? patients.failure ?? (general.length ? general.join(' ') : null)} />
      <form onSubmit={find} role="search" aria-label="Patient search" className="filters" noValidate>
        <TextField label="Find a patient" value={search} onChange={(e) => setSearch(e.target.value)} hint="Part of a name" />
        <button type="submit" className="secondary">
          Search patients
        </button>
      </form>
      <form onSubmit={book} aria-label="Book an appointment" noValidate>
        <SelectField
          label="Patient"
          value={chosen}
          onChange={(e) => setPatientId(e.target.value)}
          errors={outcome.errors.get('patientId')}
          options={
            found.length
              ? found.map((p) => ({ value: p.id, label: `${p.firstName} ${p.lastName} (${p.dateOfBirth})` }))
              : [{ value: '', label: asked === null ? 'Search for a patient first' : 'No patient found' }]
          }
        />
        <TextField label="Start" type="datetime-local" value={start} onChange={(e) => setStart(e.target.value)} errors={outcome.errors.get('start')} hint={`Local time (${zone})`} />
        <TextField label="Length in minutes" type="number" min={5} value={duration} onChange={(e) => setDuration(e.target.value)} errors={outcome.errors.get('durationMinutes')} />
        <SelectField
          label="Kind"
          value={kind}
          onChange={(e) => setKind(e.target.value as AppointmentKind)}
          errors={outcome.errors.get('kind')}
          options={[
            { value: 'IN_PERSON', label: 'In person' },
            { value: 'VIRTUAL', label: 'Virtual' },
          ]}
        />
        <TextField label="Reason" value={reason} onChange={(e) => setReason(e.target.value)} errors={outcome.errors.get('reason')} autoComplete="off" />
        <OutsideHours offered={offerOutside} checked={outside} onChange={setOutside} />
        {outcome.errors.get('allowOutsideWorkingHours') ? <Message kind="error">{outcome.errors.get('allowOutsideWorkingHours')?.join(' ')}</Message> : null}
        <button type="submit">Book the appointment</button>{' '}
        <button type="button" className="secondary" onClick={onClose}>
          Close
        </button>
      </form>
    </section>
  );
}

function AppointmentPanel({ appointment, onDone, onClose }: { appointment: Appointment; onDone: (text: string) => void; onClose: () => void }) {
  const viewer = useViewer();
  const can = useCan();
  const when = useDateTime();
  const zone = viewer.organization.timeZone;
  const local = localParts(appointment.start, zone);
  const [start, setStart] = useState(`${local.date}T${local.time}`);
  const [outside, setOutside] = useState(false);
  const [reason, setReason] = useState('');
  const [moved, setMoved] = useState<Outcome>(NONE);
  const [cancelled, setCancelled] = useState<Outcome>(NONE);
  const [changed, setChanged] = useState<Outcome>(NONE);
  const offerOutside = can('MANAGE_SCHEDULE') && (moved.outside || outside);

  const move = async (event: FormEvent) => {
    event.preventDefault();
    const result = await run(RescheduleDocument, { input: { appointmentId: appointment.id, start: zonedToIso(start, zone) ?? start, allowOutsideWorkingHours: offerOutside && outside } });
    const payload = result.data?.rescheduleAppointment;
    setMoved(outcomeOf(result, payload));
    if (payload && payload.errors.length === 0) onDone('The appointment is moved.');
  };
  const cancel = async (event: FormEvent) => {
    event.preventDefault();
    const result = await run(CancelDocument, { input: { appointmentId: appointment.id, reason } });
    const payload = result.data?.cancelAppointment;
    setCancelled(outcomeOf(result, payload));
    if (payload && payload.errors.length === 0) onDone('The appointment is cancelled.');
  };
  const setStatus = async (status: string) => {
    const result = await run(StatusDocument, { input: { appointmentId: appointment.id, status: status as AppointmentStatus } });
    const payload = result.data?.setAppointmentStatus;
    const next = outcomeOf(result, payload);
    setChanged({ ...next, failure: next.failure ?? (payload?.errors.map((error) => error.message).join(' ') || null) });
    if (payload && payload.errors.length === 0) onDone(`The appointment is now ${humanize(status).toLowerCase()}.`);
  };
  const changes = statusChanges(appointment.status);
  const heading = useFocusOnOpen();
  return (
    <section aria-labelledby="appointment-title" className="panel">
      <h2 id="appointment-title" tabIndex={-1} ref={heading}>
        {patientName(appointment)}, {when(appointment.start)}
      </h2>
      <dl>
        <dt>Status</dt>
        <dd>{humanize(appointment.status)}</dd>
        <dt>Kind</dt>
        <dd>{humanize(appointment.kind)}</dd>
        <dt>Length</dt>
        <dd>{appointment.durationMinutes} minutes</dd>
        <dt>Reason</dt>
        <dd>{appointment.reason ?? '—'}</dd>
        {appointment.cancelReason ? (
          <>
            <dt>Cancelled because</dt>
            <dd>{appointment.cancelReason}</dd>
          </>
        ) : null}
      </dl>
      {changes.length ? (
        <div role="group" aria-label="Change the status">
          <Failure networkError={changed.networkError} text={changed.failure} />
          {changes.map((status) => (
            <button key={status} type="button" className="secondary" onClick={() => setStatus(status)}>
              Mark as {humanize(status).toLowerCase()}
            </button>
          ))}
        </div>
      ) : null}
      {isOpen(appointment.status) ? (
        <>
          <form onSubmit={move} aria-label="Move the appointment" noValidate>
            <h3>Move</h3>
            <Failure networkError={moved.networkError} text={moved.failure ?? (unplacedErrors(moved.errors, ['start', 'allowOutsideWorkingHours']).join(' ') || null)} />
            <TextField label="New start" type="datetime-local" value={start} onChange={(e) => setStart(e.target.value)} errors={moved.errors.get('start')} hint={`Local time (${zone})`} />
            <OutsideHours offered={offerOutside} checked={outside} onChange={setOutside} />
            <button type="submit">Move the appointment</button>
          </form>
          <form onSubmit={cancel} aria-label="Cancel the appointment" noValidate>
            <h3>Cancel</h3>
            <Failure networkError={cancelled.networkError} text={cancelled.failure ?? (unplacedErrors(cancelled.errors, ['reason']).join(' ') || null)} />
            <TextField label="Reason for cancelling" value={reason} onChange={(e) => setReason(e.target.value)} errors={cancelled.errors.get('reason')} autoComplete="off" />
            <button type="submit">Cancel the appointment</button>
          </form>
        </>
      ) : null}
      <p>
        <button type="button" className="secondary" onClick={onClose}>
          Close
        </button>
      </p>
    </section>
  );
}

type Selection = { book: string } | { appointment: string } | null;

export default function Appointments() {
  const viewer = useViewer();
  const can = useCan();
  // Booking picks the patient from a patient search, which needs MANAGE_PATIENTS.
  const mayBook = can('MANAGE_PATIENTS');
  const zone = viewer.organization.timeZone;
  const { owners, failure: ownersFailure, networkError: ownersNetwork } = useOwners();
  const [ownerId, setOwnerId] = useState(ownerFromAddress);
  const today = localParts(new Date().toISOString(), zone).date;
  const [anchor, setAnchor] = useState(today);
  const [length, setLength] = useState('15');
  const [selection, setSelection] = useState<Selection>(null);
  const [done, setDone] = useState<string | null>(null);
  const week = weekOf(anchor);
  const from = zonedToIso(`${week[0]}T00:00`, zone) ?? '';
  const to = zonedToIso(`${addDays(week[6], 1)}T00:00`, zone) ?? '';
  const duration = Math.max(5, Number(length) || 15);
  const query = useQuery(WeekDocument, { ownerId, from, to, duration }, !ownerId);
  const schedule = query.data?.schedule;
  const slots = query.data?.availableSlots?.[0]?.slots ?? [];
  const appointments: Appointment[] = query.data?.appointments?.edges.map(({ node }) => node) ?? [];
  const owner = owners.find((candidate) => candidate.id === ownerId);

  const choose = (id: string) => {
    setOwnerId(id);
    keepOwnerInAddress(id);
    setSelection(null);
    setDone(null);
  };
  const open = (next: Selection) => {
    setDone(null);
    setSelection(next);
  };
  const finished = (text: string) => {
    setDone(text);
    setSelection(null);
    query.reload();
  };
  const hoursOf = (date: string, weekday: string): string => {
    if (!schedule?.hasWorkingHours) return 'Bookable at any time (no working hours set)';
    const exception = schedule.exceptions.find((candidate) => candidate.date === date);
    if (exception?.closed) return 'Closed';
    const intervals = exception ? exception.intervals : schedule.weekly.filter((interval) => interval.weekday === weekday);
    if (!intervals.length) return 'Closed';
    return intervals.map((interval) => `${shortTime(interval.start)}–${shortTime(interval.end)}`).join(', ');
  };
  const selected = selection && 'appointment' in selection ? appointments.find((a) => a.id === selection.appointment) : undefined;

  return (
    <section aria-labelledby="appointments-title">
      <h1 id="appointments-title">Appointments</h1>
      <Failure networkError={ownersNetwork} text={ownersFailure} />
      <div className="filters">
        <OwnerPicker owners={owners} value={ownerId} onChange={choose} />
        <TextField label="Length in minutes" type="number" min={5} value={length} onChange={(e) => setLength(e.target.value)} hint="Free slots that can take this length" />
      </div>
      {ownerId ? (
        <>
          <p>
            <Link to={`/working-hours?owner=${encodeURIComponent(ownerId)}`}>Working hours of {ownerName(owner)}</Link>
          </p>
          <div className="week-nav" role="group" aria-label="Week">
            <button type="button" className="secondary" onClick={() => setAnchor(addDays(anchor, -7))}>
              Previous week
            </button>{' '}
            <span>
              Week of {week[0]} to {week[6]} ({zone})
            </span>{' '}
            <button type="button" className="secondary" onClick={() => setAnchor(addDays(anchor, 7))}>
              Next week
            </button>{' '}
            {mayBook ? (
              <button type="button" className="secondary" onClick={() => open({ book: `${today}T09:00` })}>
                Book at another time
              </button>
            ) : null}
          </div>
          {mayBook ? null : <p className="hint">Booking needs the permission to manage patients, to find the patient.</p>}
          {done ? <Message kind="success">{done}</Message> : null}
          {query.loading && !query.data ? <Loading /> : null}
          <Failure networkError={query.networkError} text={query.failure} />
          {selection && 'book' in selection ? <BookForm key={selection.book} ownerId={ownerId} start={selection.book} length={duration} onDone={finished} onClose={() => setSelection(null)} /> : null}
          {selected ? <AppointmentPanel key={selected.id + selected.status + selected.start} appointment={selected} onDone={finished} onClose={() => setSelection(null)} /> : null}
          {query.data ? (
            <div className="week">
              {week.map((date) => {
                const weekday = new Intl.DateTimeFormat('en-CA', { weekday: 'long', timeZone: 'UTC' }).format(new Date(`${date}T12:00:00Z`));
                const dayAppointments = appointments.filter((a) => localParts(a.start, zone).date === date).sort((a, b) => a.start.localeCompare(b.start));
                const daySlots = slots.filter((slot) => localParts(slot, zone).date === date);
                return (
                  <section key={date} className="day" aria-labelledby={`day-${date}`}>
                    <h2 id={`day-${date}`}>
                      {weekday} {date}
                    </h2>
                    <p className="hint">{hoursOf(date, weekday.toUpperCase())}</p>
                    <h3>Appointments</h3>
                    {dayAppointments.length ? (
                      <ul className="appointments">
                        {dayAppointments.map((a) => (
                          <li key={a.id} className={`status-${a.status.toLowerCase()}`}>
                            <button type="button" className="link" onClick={() => open({ appointment: a.id })}>
                              {localParts(a.start, zone).time} {patientName(a)}, {humanize(a.status).toLowerCase()}
                            </button>
                          </li>
                        ))}
                      </ul>
                    ) : (
                      <p className="hint">None</p>
                    )}
                    <h3>Free</h3>
                    {daySlots.length ? (
                      <ul className="slots">
                        {daySlots.map((slot) => {
                          const local = localParts(slot, zone);
                          return (
                            <li key={slot}>
                              {mayBook ? (
                                <button
                                  type="button"
                                  className="secondary"
                                  aria-label={`Book ${weekday} ${date} at ${local.time}`}
                                  onClick={() => open({ book: `${local.date}T${local.time}` })}
                                >
                                  {local.time}
                                </button>
                              ) : (
                                local.time
                              )}
                            </li>
                          );
                        })}
                      </ul>
                    ) : (
                      <p className="hint">No free slot</p>
                    )}
                  </section>
                );
              })}
            </div>
          ) : null}
        </>
      ) : (
        <p>Choose a practitioner or a shared schedule to see its week.</p>
      )}
    </section>
  );
}
