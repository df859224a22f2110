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
