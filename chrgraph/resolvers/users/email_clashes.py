"""The login accounts whose email address clashes with another's (look-alikes that
were created before the address rules), or that the rules would refuse today: what
`chrgraph users email-clashes` lists, for the server's operators to settle. Computed
from the live data with the rule migration 0016 applied, so it stays true afterwards."""

from __future__ import annotations

from dataclasses import dataclass

from chrgraph.db.models import Organization, User
from chrgraph.email_identity import assign_addresses


@dataclass(frozen=True)
class AccountRef:
    organization: str  # the organization's domain
    user_id: str  # the user's public id
    email: str
    type: str
    status: str


@dataclass(frozen=True)
class EmailClash:
    account: AccountRef
    reason: str  # "clash", or "invalid: <why>"
    clashes_with: AccountRef | None


async def email_clashes() -> list[EmailClash]:
    """Every flagged login account of the server, oldest first."""
    users = await User.filter(login_email__isnull=False).order_by("id")
    domains = dict(await Organization.all().values_list("id", "domain"))
    by_id = {u.id: u for u in users}

    def ref(user: User) -> AccountRef:
        return AccountRef(
            str(domains.get(user.organization_id, "")), user.public_id, user.email, user.type.value, user.status.value
        )

    _, flagged = assign_addresses([(u.id, u.login_email or "") for u in users])
    return [
        EmailClash(
            ref(by_id[f.user_id]),
            f.reason,
            ref(by_id[f.clashes_with]) if f.clashes_with is not None else None,
        )
        for f in sorted(flagged, key=lambda f: f.user_id)
    ]
