"""The free starts of one stretch of working time, taken gap by gap by arithmetic
(chrgraph.resolvers.scheduling.hours.free_starts), equal the plain definition: every
grid point from the stretch's first, kept when it is late enough, ends inside the
stretch, starts before the limit and overlaps no appointment. Random stretches,
grids, durations and appointments (overlapping, touching, outside the stretch)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from chrgraph.resolvers.scheduling.hours import free_starts

T0 = datetime(2027, 3, 14, 5, 0, tzinfo=UTC)


def minutes(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


def by_definition(span_start, span_end, grid, slot, duration, near, lowest, latest):
    found, candidate = [], grid
    while candidate + duration <= span_end and candidate < latest:
        blocked = any(b_start < candidate + duration and b_end > candidate for b_start, b_end in near)
        if candidate >= lowest and not blocked:
            found.append(candidate)
        candidate += slot
    return found


# Mostly on a 5-minute grid, as clinics book, so that appointments touch the grid's starts.
_minute = st.one_of(st.integers(-60, 120).map(lambda n: 5 * n), st.integers(-300, 600))
_length = st.one_of(st.integers(1, 48).map(lambda n: 5 * n), st.integers(5, 240))
appointment = st.tuples(_minute, _length).map(lambda a: (minutes(a[0]), minutes(a[0] + a[1])))


@settings(max_examples=400, deadline=None)
@given(
    span=st.tuples(st.integers(0, 60).map(lambda n: 5 * n), st.integers(1, 120).map(lambda n: 5 * n)),
    offset=st.one_of(st.just(0), st.integers(0, 59)),
    slot=st.sampled_from([5, 10, 15, 20, 30, 60, 240]),
    duration=st.one_of(st.sampled_from([5, 10, 15, 30, 60]), st.integers(5, 240)),
    near=st.lists(appointment, max_size=8),
    earliest=st.integers(-60, 700),
    latest=st.integers(0, 1000),
)
def test_free_starts_equal_the_definition(span, offset, slot, duration, near, earliest, latest):
    span_start, span_end = minutes(span[0]), minutes(span[0] + span[1])
    grid = span_start + timedelta(minutes=offset)
    args = (
        span_start,
        span_end,
        grid,
        timedelta(minutes=slot),
        timedelta(minutes=duration),
        sorted(near),
        max(grid, minutes(earliest)),
        minutes(latest),
    )
    assert free_starts(*args) == by_definition(*args)
