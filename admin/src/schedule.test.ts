import { describe, expect, it } from 'vitest';
import { addDays, isOpen, localParts, rowKey, statusChanges, weekOf, weekdayOf } from './schedule';

describe('calendar', () => {
  it('gives the local date and time in the organization time zone', () => {
    expect(localParts('2026-03-08T07:30:00Z', 'America/Toronto')).toEqual({ date: '2026-03-08', time: '03:30' });
    expect(localParts('2026-03-08T02:30:00Z', 'America/Toronto')).toEqual({ date: '2026-03-07', time: '21:30' });
  });
  it('walks days across months and years', () => {
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
  });
  it('builds the week Monday first', () => {
    expect(weekdayOf('2026-11-30')).toBe('MONDAY');
    expect(weekOf('2026-12-06')).toEqual(['2026-11-30', '2026-12-01', '2026-12-02', '2026-12-03', '2026-12-04', '2026-12-05', '2026-12-06']);
  });
});

describe('appointments', () => {
  it('offers only the allowed status changes', () => {
    expect(statusChanges('BOOKED')).toEqual(['CONFIRMED', 'NO_SHOW']);
    expect(statusChanges('CONFIRMED')).toEqual(['ARRIVED', 'NO_SHOW']);
    expect(statusChanges('ARRIVED')).toEqual(['COMPLETED']);
    expect(statusChanges('COMPLETED')).toEqual([]);
    expect(isOpen('BOOKED')).toBe(true);
    expect(isOpen('ARRIVED')).toBe(false);
  });
  it('keys row errors by their list and index', () => {
    expect(rowKey(['input', 'weekly', '1', 'end'])).toBe('weekly.1');
    expect(rowKey(['slotMinutes'])).toBe('slotMinutes');
    expect(rowKey(null)).toBe('');
  });
});
