import { describe, expect, it } from 'vitest';
import {
  describeErrors,
  minutesFrom,
  billingCsv,
  csvLine,
  monthIn,
  zonedToIso,
  errorsByField,
  errorsByGroup,
  formatDateTime,
  hasPermission,
  humanize,
  nextInWorklist,
  tokenFromFragment,
  unplacedErrors,
} from './logic';

describe('errorsByField', () => {
  it('keys errors by the last segment of their field, without "input"', () => {
    const map = errorsByField([
      { code: 'INVALID_EMAIL', message: 'bad email', field: ['input', 'email'] },
      { code: 'X', message: 'no field' },
      { code: 'Y', message: 'nested', field: ['locum', 'endDate'] },
    ]);
    expect(map.get('email')).toEqual(['bad email']);
    expect(map.get('')).toEqual(['no field']);
    expect(map.get('endDate')).toEqual(['nested']);
    expect(unplacedErrors(map, ['email'])).toEqual(['no field', 'nested']);
  });
});

describe('formatDateTime', () => {
  it('shows an instant in the given time zone', () => {
    expect(formatDateTime('2026-01-15T17:30:00Z', 'America/Toronto')).toBe('2026-01-15 12:30');
    expect(formatDateTime('2026-07-15T17:30:00Z', 'America/Vancouver')).toBe('2026-07-15 10:30');
    expect(formatDateTime(null, 'UTC')).toBe('—');
  });
});

describe('tokenFromFragment', () => {
  it('reads the token from the fragment only', () => {
    expect(tokenFromFragment('#token=abc.def')).toBe('abc.def');
    expect(tokenFromFragment('')).toBeNull();
    expect(tokenFromFragment('#token=')).toBeNull();
  });
});

describe('describeErrors', () => {
  it('names a refusal and a signed-out session', () => {
    expect(describeErrors([{ message: 'no', extensions: { code: 'FORBIDDEN' } }])).toMatch(/permission/);
    expect(describeErrors([{ message: 'x', extensions: { code: 'UNAUTHENTICATED' } }])).toMatch(/Sign in/);
    expect(describeErrors([])).toBeNull();
  });
});

describe('small helpers', () => {
  it('checks permissions, words and the worklist order', () => {
    expect(hasPermission(['VIEW_USERS'], 'VIEW_USERS')).toBe(true);
    expect(hasPermission(null, 'VIEW_USERS')).toBe(false);
    expect(humanize('SERVICE_ACCOUNT')).toBe('Service account');
    expect(nextInWorklist(['a', 'b', 'c'], 'b')).toBe('c');
    expect(nextInWorklist(['a', 'b', 'c'], 'c')).toBe('a');
    expect(nextInWorklist(['a'], 'a')).toBeNull();
  });
});

describe('errorsByGroup', () => {
  it('keys errors by the group of the input they name', () => {
    const map = errorsByGroup([
      { code: 'SLOT_CONFLICT', message: 'booked at 9', field: ['appointments'] },
      { code: 'NOT_FOUND', message: 'not a practitioner', field: ['input', 'appointments', 'toPractitionerId'] },
      { code: 'WRONG_PASSWORD', message: 'wrong', field: ['password'] },
    ]);
    expect(map.get('appointments')).toEqual(['booked at 9', 'not a practitioner']);
    expect(map.get('password')).toEqual(['wrong']);
  });
});

describe('months, zoned times and CSV', () => {
  it('gives the month in the time zone', () => {
    expect(monthIn(new Date('2026-12-01T02:00:00Z'), 'America/Toronto')).toBe('2026-11');
    expect(monthIn(new Date('2026-12-01T06:00:00Z'), 'America/Toronto')).toBe('2026-12');
  });
  it('reads a wall-clock time in the time zone', () => {
    expect(zonedToIso('2026-07-01T09:30', 'America/Toronto')).toBe('2026-07-01T13:30:00.000Z');
    expect(zonedToIso('2026-01-15T09:30', 'America/Toronto')).toBe('2026-01-15T14:30:00.000Z');
    expect(zonedToIso('', 'America/Toronto')).toBeNull();
  });
  it('quotes CSV values and lists users', () => {
    expect(csvLine(['a,b', 'say "hi"', 3])).toBe('"a,b","say ""hi""",3');
    const csv = billingCsv({
      month: '2026-11',
      lines: [
        { label: 'CHR Plus', billed: true, count: 1, users: [{ email: 'a@x.test', firstName: 'Ann', lastName: 'Lee' }] },
        { label: 'Unlicensed', billed: false, count: 0, users: [] },
      ],
    });
    expect(csv.split('\r\n')).toEqual(['month,license,billed,count,user,email', '2026-11,CHR Plus,yes,1,Ann Lee,a@x.test', '2026-11,Unlicensed,no,0,,', '']);
  });
});

describe('minutesFrom', () => {
  it('reads whole minutes, empty as none, anything else as invalid', () => {
    expect(minutesFrom('30')).toBe(30);
    expect(minutesFrom(' 1440 ')).toBe(1440);
    expect(minutesFrom('')).toBeNull();
    expect(minutesFrom('  ')).toBeNull();
    expect(minutesFrom('2.5')).toBeUndefined();
    expect(minutesFrom('-5')).toBeUndefined();
    expect(minutesFrom('ten')).toBeUndefined();
  });
});
