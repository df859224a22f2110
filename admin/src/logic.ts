// The client's own logic, free of React and the DOM, so vitest checks it directly.

export type UserErrorLike = { code: string; message: string; field?: readonly string[] | null };

/** Payload errors grouped by the input field they name ("" for errors without a field).
 * A field path such as ["input", "email"] or ["email"] is keyed by its last segment. */
export function errorsByField(errors: readonly UserErrorLike[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const error of errors) {
    const path = (error.field ?? []).filter((part) => part !== 'input' && !/^\d+$/.test(part));
    const key = path.length ? path[path.length - 1] : '';
    const list = out.get(key) ?? [];
    list.push(error.message);
    out.set(key, list);
  }
  return out;
}

/** Errors whose field no form control shows are shown at the top of the form. */
export function unplacedErrors(byField: Map<string, string[]>, shown: readonly string[]): string[] {
  const out: string[] = [];
  for (const [key, messages] of byField) {
    if (!shown.includes(key)) out.push(...messages);
  }
  return out;
}

/** A date-time in the organization's time zone, e.g. "2026-11-30 14:05 (America/Toronto)". */
export function formatDateTime(iso: string | null | undefined, timeZone: string): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(date);
  const get = (type: string) => parts.find((part) => part.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}`;
}

/** A token carried by a link's fragment (`#token=…`), or null. */
export function tokenFromFragment(hash: string): string | null {
  const params = new URLSearchParams(hash.startsWith('#') ? hash.slice(1) : hash);
  const token = params.get('token');
  return token && token.trim() ? token : null;
}

export type GraphQLErrorLike = { message: string; path?: readonly (string | number)[]; extensions?: { code?: string } };

/** What a screen says about top-level errors: forbidden, signed out, or another failure. */
export function describeErrors(errors: readonly GraphQLErrorLike[] | undefined): string | null {
  if (!errors || errors.length === 0) return null;
  const codes = new Set(errors.map((error) => error.extensions?.code));
  if (codes.has('FORBIDDEN')) return 'You do not have permission to see or do this.';
  if (codes.has('UNAUTHENTICATED')) return 'Your session has ended. Sign in again.';
  return errors.map((error) => error.message).join(' ');
}

export function hasPermission(permissions: readonly string[] | null | undefined, permission: string): boolean {
  return !!permissions && permissions.includes(permission);
}

/** "SERVICE_ACCOUNT" → "Service account". */
export function humanize(value: string | null | undefined): string {
  if (!value) return '—';
  const words = value.toLowerCase().split('_');
  return [words[0].charAt(0).toUpperCase() + words[0].slice(1), ...words.slice(1)].join(' ');
}

/** The next page's cursor history for a connection: pages are walked forward with `after`. */
export function pageCursors(history: readonly (string | null)[], endCursor: string | null): (string | null)[] {
  return [...history, endCursor];
}

/** The user after `currentId` in a worklist, or the first other one, or null. */
export function nextInWorklist(ids: readonly string[], currentId: string): string | null {
  const index = ids.indexOf(currentId);
  const rest = [...ids.slice(index + 1), ...ids.slice(0, Math.max(index, 0))].filter((id) => id !== currentId);
  return rest.length ? rest[0] : null;
}

/** Payload errors grouped by the first segment of their field (a group of the input, such
 * as "appointments" for ["appointments", "toPractitionerId"]). */
export function errorsByGroup(errors: readonly UserErrorLike[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const error of errors) {
    const path = (error.field ?? []).filter((part) => part !== 'input');
    const key = path.length ? path[0] : '';
    out.set(key, [...(out.get(key) ?? []), error.message]);
  }
  return out;
}

/** The "YYYY-MM" month an instant falls in, in a time zone. */
export function monthIn(date: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit' }).formatToParts(date);
  const get = (type: string) => parts.find((part) => part.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}`;
}

/** The instant (ISO, UTC) of a wall-clock time "YYYY-MM-DDTHH:MM" in a time zone, as a
 * datetime-local control gives it; null for an empty or malformed value. */
export function zonedToIso(local: string, timeZone: string): string | null {
  const found = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(local);
  if (!found) return null;
  const [year, month, day, hour, minute] = found.slice(1).map(Number);
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  const offsetAt = (instant: number) => {
    const parts = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).formatToParts(new Date(instant));
    const get = (type: string) => Number(parts.find((part) => part.type === type)?.value ?? 0);
    return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute')) - instant;
  };
  let instant = wall - offsetAt(wall);
  instant = wall - offsetAt(instant);
  return new Date(instant).toISOString();
}

/** One CSV line, quoting values that hold a comma, a quote or a line break. */
export function csvLine(values: readonly (string | number)[]): string {
  return values
    .map((value) => {
      const text = String(value);
      return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
    })
    .join(',');
}

export type StatementLike = {
  month: string;
  lines: readonly { label: string; billed: boolean; count: number; users?: readonly { email: string; firstName: string; lastName: string }[] | null }[];
};

/** A billing statement as CSV: one row per billed or unbilled user, or per line without users. */
export function billingCsv(statement: StatementLike, forecast?: StatementLike): string {
  const rows = [csvLine(['month', 'license', 'billed', 'count', 'user', 'email'])];
  for (const part of forecast ? [statement, forecast] : [statement]) {
    for (const line of part.lines) {
      const users = line.users ?? [];
      if (users.length === 0) rows.push(csvLine([part.month, line.label, line.billed ? 'yes' : 'no', line.count, '', '']));
      for (const user of users) {
        rows.push(csvLine([part.month, line.label, line.billed ? 'yes' : 'no', line.count, `${user.firstName} ${user.lastName}`, user.email]));
      }
    }
  }
  return `${rows.join('\r\n')}\r\n`;
}

/** A whole number of minutes typed in a field: null when empty, undefined when it is not
 * a whole number. */
export function minutesFrom(text: string): number | null | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  return /^\d+$/.test(trimmed) ? Number(trimmed) : undefined;
}
