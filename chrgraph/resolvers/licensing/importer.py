"""`chrgraph users import --org D FILE.csv`: legacy users without licenses, the
migration path. Every row is validated first; a file with any bad row is reported
with line numbers and nothing of it is imported. Then mapping and enforcement run;
both do nothing for an organization not under license management, whose users come
in unmanaged.

Columns (header row required, docs/license-mapping.md): email, first_name, last_name,
type (STAFF|PRACTITIONER), classification, billing_number, title, labs_90d,
prescriptions_90d, virtual_visits_90d, provincial_claims_90d; optionally
expected_end_of_training (YYYY-MM-DD), which clinical trainees need as when invited.
The file is read as Excel writes it (`read_csv`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

from tortoise.exceptions import IntegrityError

from chrgraph import instants
from chrgraph.audit import events
from chrgraph.audit.actions import AuditAction
from chrgraph.auth.principals import Actor
from chrgraph.db.models import (
    Classification,
    LicenseEvidence,
    Organization,
    User,
    UserStatus,
    UserType,
)
from chrgraph.db.tenant import OrganizationData
from chrgraph.db.transactions import atomic
from chrgraph.resolvers.csv_files import read_csv
from chrgraph.resolvers.errors import ErrorCode, OperationFailed, UserError
from chrgraph.resolvers.licensing.changes import record_status
from chrgraph.resolvers.licensing.enforcement import enforce_licenses
from chrgraph.resolvers.licensing.management import under_license_management
from chrgraph.resolvers.licensing.mapping import MappingResult, run_license_mapping
from chrgraph.resolvers.users.invitations import issue_invitation
from chrgraph.resolvers.users.profile import (
    Profile,
    apply_profile,
    check_email,
    check_profile,
    email_skeleton_digest,
    snapshot,
)
from chrgraph.resolvers.validation import Errors

COLUMNS = [
    "email",
    "first_name",
    "last_name",
    "type",
    "classification",
    "billing_number",
    "title",
    "labs_90d",
    "prescriptions_90d",
    "virtual_visits_90d",
    "provincial_claims_90d",
]
USAGE = COLUMNS[7:]
MAX_ROWS = 50_000


@dataclass
class ImportRow:
    line: int
    email: str
    profile: Profile
    usage: dict[str, int]


@dataclass
class ImportResult:
    imported: list[User] = field(default_factory=list)
    mapping: MappingResult | None = None
    enforced: int = 0


def parse_csv(data: bytes | str, org: Organization) -> list[ImportRow]:
    reader = read_csv(data)
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise OperationFailed(
            UserError(ErrorCode.INVALID_INPUT, f"line 1: missing columns {', '.join(missing)}", ("file",))
        )
    rows, problems = [], []
    seen: dict[str, int] = {}
    for index, raw in enumerate(reader):
        line = index + 2
        if index >= MAX_ROWS:
            problems.append(UserError(ErrorCode.INVALID_INPUT, f"line {line}: at most {MAX_ROWS} rows", ("file",)))
            break
        errors = Errors()
        email = check_email(errors, (raw.get("email") or "").strip(), "email")
        try:
            user_type = UserType((raw.get("type") or "").strip().upper())
            if user_type not in (UserType.STAFF, UserType.PRACTITIONER):
                raise ValueError(user_type)
        except ValueError:
            errors.add(ErrorCode.INVALID_INPUT, "type is STAFF or PRACTITIONER", "type")
            user_type = UserType.STAFF
        classification = None
        if (raw.get("classification") or "").strip():
            try:
                classification = Classification(raw["classification"].strip().upper())
            except ValueError:
                errors.add(ErrorCode.INVALID_INPUT, "unknown classification", "classification")
        usage = {}
        for column in USAGE:
            value = (raw.get(column) or "0").strip() or "0"
            if not value.isdigit():
                errors.add(ErrorCode.INVALID_INPUT, f"{column} is a whole number", column)
            usage[column] = int(value) if value.isdigit() else 0
        end_of_training = None
        if (raw.get("expected_end_of_training") or "").strip():
            try:
                end_of_training = instants.parse_date(raw["expected_end_of_training"])
            except ValueError as exc:
                errors.add(ErrorCode.INVALID_INPUT, f"expected_end_of_training: {exc}", "expected_end_of_training")
        profile = Profile(
            type=user_type,
            classification=classification,
            license=None,
            expected_end_of_training=end_of_training,
            first_name=raw.get("first_name"),
            last_name=raw.get("last_name"),
            title=(raw.get("title") or "").strip() or None,
            billing_number=(raw.get("billing_number") or "").strip() or None,
        )
        # Imported users come without licenses: validate everything else as an invitation would.
        profile = check_profile(errors, org, profile, legacy=True)
        # Look-alikes are one address (same confusable skeleton).
        same = email_skeleton_digest(email) if email else None
        if same and same in seen:
            errors.add(ErrorCode.EMAIL_TAKEN, f"same email as line {seen[same]}", "email")
        elif same:
            seen[same] = line
        for error in errors.items:
            where = ".".join(error.field or ())
            problems.append(UserError(error.code, f"line {line}: {where}: {error.message}", ("file",)))
        if not errors:
            assert email is not None  # check_email returns None only with an error recorded
            rows.append(ImportRow(line, email, profile, usage))
    if problems:
        raise OperationFailed(*problems)
    return rows


async def import_users(
    actor: Actor, data: bytes | str, progress: Callable[[int, int], None] | None = None
) -> ImportResult:
    org = await Organization.get(id=actor.organization_id)
    rows = parse_csv(data, org)
    # Tortoise types a flat values_list as a list of tuples: the cast names the element type.
    skeletons = {r.line: email_skeleton_digest(r.email) for r in rows}
    taken = set(
        cast(
            list[str],
            await User.filter(email_skeleton__in=list(skeletons.values())).values_list("email_skeleton", flat=True),
        )
    ) | set(
        cast(
            list[str], await User.filter(login_email__in=[r.email for r in rows]).values_list("login_email", flat=True)
        )
    )
    if taken:
        raise OperationFailed(
            *[
                UserError(ErrorCode.EMAIL_TAKEN, f"line {r.line}: email: already a user", ("file",))
                for r in rows
                if r.email in taken or skeletons[r.line] in taken
            ]
        )
    result = ImportResult()
    now = datetime.now(UTC)
    managed_since = now if under_license_management(org) else None
    try:
        async with atomic() as conn:
            for done, row in enumerate(rows, start=1):
                user = OrganizationData(org.id).new(
                    User,
                    email=row.email,
                    login_email=row.email,
                    status=UserStatus.INVITED,
                    invited_at=now,
                    license_managed_since=managed_since,
                )
                apply_profile(user, row.profile)
                await user.save(using_db=conn)
                await record_status(conn, user, UserStatus.INVITED, now)
                await LicenseEvidence.create(
                    user_id=user.id,
                    recorded_at=now,
                    labs_90d=row.usage["labs_90d"],
                    prescriptions_90d=row.usage["prescriptions_90d"],
                    virtual_visits_90d=row.usage["virtual_visits_90d"],
                    provincial_claims_90d=row.usage["provincial_claims_90d"],
                    using_db=conn,
                )
                await issue_invitation(conn, user, org.name)
                await events.record(
                    conn,
                    actor,
                    AuditAction.USER_IMPORTED,
                    "User",
                    user.public_id,
                    {**snapshot(user), "usage": row.usage},
                )
                result.imported.append(user)
                if progress:
                    progress(done, len(rows))
    except IntegrityError as exc:  # a concurrent invitation took an address
        raise OperationFailed(
            UserError(ErrorCode.EMAIL_TAKEN, "an email was taken during the import", ("file",))
        ) from exc
    result.mapping = await run_license_mapping(actor, dry_run=False)
    result.enforced = await enforce_licenses(org.id)
    return result
