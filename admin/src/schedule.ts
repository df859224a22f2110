// The calendar logic of the appointments and working-hours screens, free of React so
// vitest checks it directly: local dates and times in the organization's time zone, the
// week around a date, and the status changes an appointment allows.

export const WEEKDAYS = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'] as const;
export type WeekdayName = (typeof WEEKDAYS)[number];

/** The local date ("YYYY-MM-DD") and time ("HH:MM") of an instant in a time zone. */
export function localParts(iso: string, timeZone: string): { date: string; time: string } {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(iso));
  const get = (type: string) => parts.find((part) => part.type === type)?.value ?? '';
  return { date: `${get('year')}-${get('month')}-${get('day')}`, time: `${get('hour')}:${get('minute')}` };
}

/** A calendar date moved by a number of days ("2026-03-07" + 1 → "2026-03-08"). */
export function addDays(date: string, days: number): string {
  const [year, month, day] = date.split('-').map(Number);
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10);
}

/** The weekday of a calendar date. */
export function weekdayOf(date: string): WeekdayName {
  const [year, month, day] = date.split('-').map(Number);
  const sundayFirst = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  return WEEKDAYS[(sundayFirst + 6) % 7];
}

/** The seven dates of the week (Monday first) that holds a date. */
export function weekOf(date: string): string[] {
  const monday = addDays(date, -WEEKDAYS.indexOf(weekdayOf(date)));
  return WEEKDAYS.map((_, index) => addDays(monday, index));
}

/** A Time scalar ("HH:MM:SS" or "HH:MM") → "HH:MM". */
export function shortTime(time: unknown): string {
  return String(time ?? '').slice(0, 5);
}

const NEXT: Record<string, readonly string[]> = {
  BOOKED: ['CONFIRMED', 'CANCELLED', 'NO_SHOW'],
  CONFIRMED: ['ARRIVED', 'CANCELLED', 'NO_SHOW'],
  ARRIVED: ['COMPLETED'],
};

/** The statuses an appointment may move to from its own (cancelling has its own form,
 * as it needs a reason). */
export function statusChanges(status: string): string[] {
  return (NEXT[status] ?? []).filter((next) => next !== 'CANCELLED');
}

/** Whether an appointment in this status may still be moved or cancelled. */
export function isOpen(status: string): boolean {
  return status === 'BOOKED' || status === 'CONFIRMED';
}

/** A payload error's field path as a key: ["input", "weekly", "1", "end"] → "weekly.1". */
export function rowKey(field: readonly string[] | null | undefined): string {
  const path = (field ?? []).filter((part) => part !== 'input');
  if (path.length >= 2 && /^\d+$/.test(path[1])) return `${path[0]}.${path[1]}`;
  return path[0] ?? '';
}
