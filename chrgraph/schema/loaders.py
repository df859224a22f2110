"""DataLoaders, fresh for each request (§9: statements per request do not grow with a
list's length)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from strawberry.dataloader import DataLoader

from chrgraph.db.models import ApiConsumerKey, Organization


async def _keys_by_consumer(ids: Iterable[int]) -> list[list[ApiConsumerKey]]:
    ids = list(ids)
    grouped: dict[int, list[ApiConsumerKey]] = defaultdict(list)
    for row in await ApiConsumerKey.filter(consumer_id__in=ids).order_by("id"):
        grouped[row.consumer_id].append(row)
    return [grouped[i] for i in ids]


async def _organizations(ids: Iterable[int]) -> list[Organization | None]:
    ids = list(ids)
    found = {o.id: o for o in await Organization.filter(id__in=ids)}
    return [found.get(i) for i in ids]


def make_loaders() -> dict[str, DataLoader]:
    return {
        "keys_by_consumer": DataLoader(_keys_by_consumer),
        "organization": DataLoader(_organizations),
    }
