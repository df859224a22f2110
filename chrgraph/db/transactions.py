"""Every write that belongs together is one transaction (STYLE: transactions live in
operations, never in field resolvers)."""

from tortoise.transactions import in_transaction


def atomic():
    return in_transaction("default")
