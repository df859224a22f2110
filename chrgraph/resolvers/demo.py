"""`chrgraph demo` (§10): the demo organization (domain `demo`) with users of every
type, status and classification; idempotent. Demo passwords are in the README."""

from __future__ import annotations

from datetime import date, timedelta

from chrgraph.auth.principals import support_cli_actor
from chrgraph.db.models import Classification, License, Organization, Role, User, UserType
from chrgraph.resolvers.organizations.create_organization import create_organization
from chrgraph.resolvers.users.accept_invitation import accept_invitation
from chrgraph.resolvers.users.invite_user import create_service_account, invite_user
from chrgraph.resolvers.users.ownership import set_support_password
from chrgraph.resolvers.users.profile import Profile

DEMO_DOMAIN = "demo"
OWNER_EMAIL = "owner@demo.chrgraph.invalid"
DEMO_PASSWORD = "demo-password-1234"


async def load_demo() -> str:
    if await Organization.exists(domain=DEMO_DOMAIN):
        org = await Organization.get(domain=DEMO_DOMAIN)
        return f"demo organization {org.domain} already loaded (id {org.id})"
    created = await create_organization(domain=DEMO_DOMAIN, name="Demo Clinic", owner_email=OWNER_EMAIL)
    org = created.organization
    actor = support_cli_actor(org.id, created.support.id)
    await set_support_password(actor, DEMO_PASSWORD)
    await accept_invitation(created.owner_invitation_token, DEMO_PASSWORD, "Olivia", "Owner")
    roles = {r.name: r.id for r in await Role.filter(organization_id=org.id)}
    today = date.today()
    people = [
        ("frontdesk@demo.chrgraph.invalid", Profile(UserType.STAFF, None, License.STAFF, "Frank", "Desk"),
         ["Front desk"], True),
        ("billing@demo.chrgraph.invalid", Profile(UserType.STAFF, None, License.STAFF, "Bea", "Biller"),
         ["Billing"], False),
        ("dr.lee@demo.chrgraph.invalid", Profile(UserType.PRACTITIONER, Classification.STANDARD,
                                                 License.CHR_PLUS, "Ana", "Lee", title="Dr.",
                                                 billing_number="123456"), ["Practitioner"], True),
        ("dr.gagne@demo.chrgraph.invalid", Profile(UserType.PRACTITIONER, Classification.STANDARD,
                                                   License.CHR_LITE, "Éloïse", "Gagné", title="Dr."),
         ["Practitioner"], True),
        ("locum@demo.chrgraph.invalid", Profile(UserType.PRACTITIONER, Classification.LOCUM, License.LOCUM,
                                                "Luc", "Locum", title="Dr."), ["Practitioner"], True),
        ("trainee@demo.chrgraph.invalid", Profile(UserType.PRACTITIONER, Classification.CLINICAL_TRAINEE,
                                                  License.CLINICAL_TRAINEE, "Tara", "Trainee",
                                                  expected_end_of_training=today + timedelta(days=120)),
         ["Practitioner"], True),
    ]
    for email, profile, role_names, accept in people:
        _, token = await invite_user(actor, email, profile, [roles[n] for n in role_names])
        if accept:
            await accept_invitation(token, DEMO_PASSWORD, profile.first_name, profile.last_name)
    await create_service_account(actor, email="it@demo.chrgraph.invalid", first_name="Ivan", last_name="Tech",
                                 display_name="Lab results importer")
    count = await User.filter(organization_id=org.id).count()
    return f"created demo organization {org.domain} (id {org.id}) with {count} users; password {DEMO_PASSWORD}"
