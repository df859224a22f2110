"""License mapping (docs/license-mapping.md): a deterministic rule set proposes a
license, a confidence and the evidence for each unlicensed user; proposals at or above
the threshold are applied as automatic, the rest wait in `unmappedUsers`. Only
organizations under license management have proposals or unmapped users."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chrgraph.auth.principals import Actor
from chrgraph.db.models import (
    Classification,
    License,
    LicenseChangeKind,
    LicenseEvidence,
    Organization,
    User,
    UserType,
)
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.licensing.changes import change_license
from chrgraph.resolvers.licensing.management import managed_users, unlicensed_users
from chrgraph.settings import get_settings

ENFORCED_REASON = "Assigned automatically by license enforcement: review it."


@dataclass(frozen=True)
class Proposal:
    user: User
    license: License | None
    confidence: float | None  # None: assigned by enforcement, awaiting review
    reason: str
    evidence: dict[str, Any]


def propose(user: User, evidence: LicenseEvidence | None) -> Proposal:
    """The rules, in order; the first that applies decides (docs/license-mapping.md)."""
    use = {
        "labs90d": evidence.labs_90d if evidence else 0,
        "prescriptions90d": evidence.prescriptions_90d if evidence else 0,
        "virtualVisits90d": evidence.virtual_visits_90d if evidence else 0,
        "provincialClaims90d": evidence.provincial_claims_90d if evidence else 0,
    }
    facts = {
        "type": user.type.value,
        "classification": user.classification.value if user.classification else None,
        "billingNumber": bool(user.billing_number),
        "evidenceRecorded": evidence is not None,
        **use,
    }

    def decide(license: License, confidence: float, reason: str) -> Proposal:
        return Proposal(user, license, round(confidence, 2), reason, facts)

    if user.type is UserType.STAFF:
        return decide(License.STAFF, 1.0, "R1: Staff fit only STAFF.")
    if user.classification is Classification.CLINICAL_TRAINEE:
        return decide(License.CLINICAL_TRAINEE, 1.0, "R2: clinical trainees fit only CLINICAL_TRAINEE.")
    if user.classification is Classification.LOCUM:
        return decide(License.LOCUM, 1.0, "R3: locums fit only LOCUM.")
    # Standard practitioners (or without classification, which counts as Standard).
    unclassified = user.classification is None
    penalty = 0.15 if unclassified else 0.0
    note = " Classification missing: counted as Standard." if unclassified else ""
    if use["provincialClaims90d"] > 0:
        return decide(License.CHR_PLUS, 0.98 - penalty, "R4: provincial claims in the last 90 days." + note)
    if use["labs90d"] > 0 or use["prescriptions90d"] > 0:
        return decide(License.CHR_PLUS, 0.95 - penalty, "R5: labs or prescriptions in the last 90 days." + note)
    if use["virtualVisits90d"] > 0:
        return decide(
            License.CHR_LITE_VV,
            0.92 - penalty,
            "R6: virtual visits, no labs, prescriptions or claims." + note,
        )
    if user.billing_number:
        return decide(
            License.CHR_PLUS,
            0.6 - penalty,
            "R7: a billing number but no recent claims: provincial billing is likely, not shown." + note,
        )
    return decide(
        License.CHR_LITE,
        0.7 - penalty,
        "R8: no recent use of virtual care, labs, prescriptions or billing: the lowest tier is a guess." + note,
    )


async def proposals_for(org: Organization) -> list[Proposal]:
    """One proposal per unlicensed user; none outside license management."""
    query = unlicensed_users(org)
    if query is None:
        return []
    users = await query.order_by("id")
    evidence = {e.user_id: e for e in await LicenseEvidence.filter(user_id__in=[u.id for u in users])}
    return [propose(user, evidence.get(user.id)) for user in users]


def _confident(proposal: Proposal, threshold: float) -> bool:
    return proposal.confidence is not None and proposal.confidence >= threshold


@dataclass
class MappingResult:
    applied: list[Proposal]
    unmapped: list[Proposal]
    threshold: float


async def run_license_mapping(actor: Actor, dry_run: bool, progress=None) -> MappingResult:
    threshold = get_settings().license_mapping_threshold
    org = await Organization.get(id=actor.organization_id)
    proposals = await proposals_for(org)
    applied = [p for p in proposals if _confident(p, threshold)]
    unmapped = [p for p in proposals if not _confident(p, threshold)]
    if applied and not dry_run:
        now = datetime.now(UTC)
        async with atomic() as conn:
            for proposal in applied:
                await change_license(
                    conn, actor, proposal.user, org, proposal.license, LicenseChangeKind.AUTOMATIC, now=now
                )
                if progress:
                    progress()
    return MappingResult(applied, unmapped, threshold)


async def unmapped_users(actor: Actor) -> list[Proposal]:
    """What the admin banner lists: proposals below the threshold, then users whose
    license enforcement assigned and no admin has reviewed yet. Empty outside license
    management."""
    org = await Organization.get(id=actor.organization_id)
    users = managed_users(org)
    if users is None:
        return []
    threshold = get_settings().license_mapping_threshold
    waiting = [p for p in await proposals_for(org) if not _confident(p, threshold)]
    for user in await users.filter(license_reviewed=False).order_by("id"):
        waiting.append(Proposal(user, user.license, None, ENFORCED_REASON, {}))
    return waiting
