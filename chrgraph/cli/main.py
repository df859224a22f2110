"""The `chrgraph` command. Every command goes through the same operations, validation
and audit as GraphQL, acting as the organization's support principal. A failure of any
kind is one line on stderr and a non-zero exit (chrgraph.cli.boundary)."""

from __future__ import annotations

import sys
import time
from importlib.metadata import version as installed_version
from pathlib import Path

import typer

from chrgraph.audit.checkpoint import AuditFiles
from chrgraph.cli import boundary
from chrgraph.cli.boundary import CommandFailed
from chrgraph.cli.files import read_bytes, read_text
from chrgraph.cli.runtime import (
    INSTANT_HELP,
    date_option,
    emit,
    instant_option,
    operator_of,
    organization,
    progress_bar,
    run,
    shown,
    support_actor,
)
from chrgraph.db.models import Contract
from chrgraph.settings import get_settings

app = typer.Typer(help="chrgraph: the clinic health records Enterprise API server.", no_args_is_help=True)
org_app = typer.Typer(help="Organizations (CHR domains).", no_args_is_help=True)
consumers_app = typer.Typer(help="API consumers (support account only).", no_args_is_help=True)
logs_app = typer.Typer(help="API logs of consumer requests.", no_args_is_help=True)
audit_app = typer.Typer(help="The append-only audit log.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Event notifications (webhooks) of API consumers.", no_args_is_help=True)
app.add_typer(org_app, name="org")
app.add_typer(consumers_app, name="consumers")
app.add_typer(logs_app, name="logs")
app.add_typer(audit_app, name="audit")
app.add_typer(webhooks_app, name="webhooks")
users_app = typer.Typer(help="Users (import of legacy users; the main lab integration).", no_args_is_help=True)
licenses_app = typer.Typer(help="License management.", no_args_is_help=True)
billing_app = typer.Typer(help="Billing.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(licenses_app, name="licenses")
app.add_typer(billing_app, name="billing")


def _print_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"chrgraph {installed_version('chrgraph')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_version, help="Print the version and exit."
    ),
) -> None:
    """chrgraph: the clinic health records Enterprise API server."""


def _audit_files() -> AuditFiles:
    """Where this database's audit signing key and anchor file live (the server's own
    resolution); resolved before any work, so a missing setting stops a command before it
    changes anything."""
    from chrgraph.audit.checkpoint import audit_files

    return audit_files(get_settings())


def _create_audit_files(files: AuditFiles) -> tuple[bool, bool]:
    """Make the key and the anchor file if missing: serve, migrate and `audit init` only.
    Returns which of the two were made."""
    from chrgraph.audit.anchor import create_anchor_file
    from chrgraph.audit.checkpoint import load_signing_key

    key_existed = files.key.exists()
    load_signing_key(files.key, create=True)  # an existing file must hold a key
    return not key_existed, create_anchor_file(files.anchor)


def _create_log_key() -> None:
    """Make the API log encryption key if it is missing (serve and migrate; before the
    migrations, which encrypt rows written before encryption)."""
    from chrgraph.db import log_keys

    log_keys.load_key_ring(log_keys.key_ring_path(get_settings()), create=True)


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = typer.Option(8000, min=1, max=65535),
    workers: int = typer.Option(1, min=1),
) -> None:
    """Migrate if needed, then serve."""
    import socket

    import uvicorn

    async def migrate_only() -> None:
        return None  # opening the database migrates it

    files = _audit_files()  # reads (and checks) every setting first
    try:  # a taken port or unknown host: one line before any work, not uvicorn's log
        socket.create_server((host, port)).close()
    except OSError as exc:
        raise CommandFailed(
            "PORT_UNAVAILABLE", f"cannot listen on {host}:{port}: {exc.strerror or exc}", "port"
        ) from None
    _create_log_key()
    run(migrate_only, create=True)
    _create_audit_files(files)
    uvicorn.run(
        "chrgraph.app:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        log_level="info",
        # The client address is ours to decide (CHRGRAPH_TRUSTED_PROXIES): uvicorn would
        # otherwise believe X-Forwarded-For from 127.0.0.1.
        proxy_headers=False,
    )


@app.command()
def migrate() -> None:
    """Create the database if needed and apply the migrations; make the audit signing key
    if it is missing."""

    async def job() -> None:
        return None  # opening the database migrates it

    files = _audit_files()
    _create_log_key()
    run(job, create=True)
    _create_audit_files(files)
    typer.echo(f"database is up to date; audit signing key: {files.key}; audit anchor file: {files.anchor}")


@app.command()
def demo() -> None:
    """Load the demo organization (domain `demo`); idempotent."""
    from chrgraph.resolvers.demo import load_demo

    summary = run(load_demo, create=True)
    typer.echo(summary)


@org_app.command("create")
def org_create(
    domain: str = typer.Option(..., help="Unique slug of the CHR domain."),
    name: str = typer.Option(..., help="Display name."),
    owner_email: str = typer.Option(..., help="The owner's email: an INVITED Staff user with the STAFF license."),
    support_email: str = typer.Option(None, help="Default: support+<domain>@chrgraph.invalid."),
    contract: Contract = typer.Option(Contract.STANDARD, help="STANDARD or CUSTOM."),
    province: str = typer.Option("ON", help="Two-letter province code."),
    time_zone: str = typer.Option("America/Toronto", help="IANA time zone."),
    enterprise_api: bool = typer.Option(True, "--enterprise-api/--no-enterprise-api"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create an organization."""
    from chrgraph.resolvers.organizations.create_organization import create_organization

    created = run(
        lambda: create_organization(
            domain=domain,
            name=name,
            owner_email=owner_email,
            support_email=support_email,
            contract=contract,
            province=province,
            time_zone=time_zone,
            enterprise_api_enabled=enterprise_api,
        )
    )
    org = created.organization
    assert created.owner is not None  # --owner-email is required
    emit(
        {
            "id": org.id,
            "domain": org.domain,
            "name": org.name,
            "ownerEmail": created.owner.email,
            "ownerInvitationToken": created.owner_invitation_token,
            "supportEmail": created.support.email,
        },
        as_json,
        f"created organization {org.domain}\nowner {created.owner.email} invitation token: "
        f"{created.owner_invitation_token}\nsupport account: {created.support.email} "
        f"(set its password with `chrgraph org support-password --org {org.domain}`)",
    )


@org_app.command("list")
def org_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the organizations, by domain."""
    from chrgraph.resolvers.organizations.list_organizations import list_organizations

    rows = [
        {
            "id": org.id,
            "domain": org.domain,
            "name": org.name,
            "contract": org.contract.value,
            "province": org.province,
            "timeZone": org.time_zone,
            "enterpriseApiEnabled": org.enterprise_api_enabled,
            "createdAt": org.created_at,
        }
        for org in run(list_organizations)
    ]
    emit(
        rows,
        as_json,
        "\n".join(f"{r['domain']}\t{r['name']}\t{r['contract']}\t{r['province']}" for r in rows) or "no organizations",
    )


@org_app.command("support-password")
def org_support_password(org: str = typer.Option(..., help="The organization.")) -> None:
    """Set the support account's password (read from standard input)."""
    import sys

    from chrgraph.resolvers.users.ownership import set_support_password

    password = sys.stdin.readline().rstrip("\r\n")

    async def job():
        return await set_support_password(await operator_of(org), password)

    support = run(job)
    typer.echo(f"password set for {support.email}")


@org_app.command("transfer-ownership")
def org_transfer_ownership(
    org: str = typer.Option(..., help="The organization."),
    to: str = typer.Option(..., "--to", help="The new owner's login email (an active Staff member or Practitioner)."),
    reason: str = typer.Option(..., help="Why (required; recorded in the audit event), e.g. a ticket number."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Break-glass: make another user the owner when the owner is gone or locked out."""
    from chrgraph.resolvers.users.ownership import transfer_ownership_by_email

    async def job():
        return await transfer_ownership_by_email(await operator_of(org), to, reason)

    done = run(job)
    emit({"domain": done.domain, "ownerEmail": to}, as_json, f"{to} now owns {done.domain}")


@org_app.command("set")
def org_set(
    domain: str = typer.Option(..., help="The organization."),
    name: str = typer.Option(None),
    new_domain: str = typer.Option(None, "--new-domain", help="Its new domain (a unique slug: a-z, 0-9, -)."),
    contract: Contract = typer.Option(None),
    province: str = typer.Option(None),
    time_zone: str = typer.Option(None),
    enterprise_api: bool = typer.Option(None, "--enterprise-api/--no-enterprise-api"),
    stripe_connected: bool = typer.Option(
        None, "--stripe-connected/--no-stripe-connected", help="Disconnecting also turns portal billing off."
    ),
    license_enforcement_date: str = typer.Option(None, help="YYYY-MM-DD, 1900-01-01 to 2199-12-31."),
) -> None:
    """Change an organization's settings (with its support account's rights, audited as the system)."""
    from chrgraph.resolvers.organizations.update_organization import update_organization

    enforcement = date_option(license_enforcement_date, "--license-enforcement-date")

    async def job():
        return await update_organization(
            await operator_of(domain),
            name=name,
            domain=new_domain,
            contract=contract,
            province=province,
            time_zone=time_zone,
            enterprise_api_enabled=enterprise_api,
            stripe_connected=stripe_connected,
            license_enforcement_date=enforcement,
        )

    org = run(job)
    typer.echo(f"updated organization {org.domain}")


def _consumer_json(consumer, keys) -> dict:
    from chrgraph.resolvers.consumers.manage import consumer_held

    return {
        "name": consumer.name,
        "issuer": consumer.issuer,
        "active": consumer.active,
        "lastUsedAt": consumer.last_used_at,
        "costBudgetPerMinute": consumer.cost_budget_per_minute,
        "permissions": [p.value for p in consumer_held(consumer)],
        "keys": [{"kid": k.kid, "fingerprint": k.fingerprint, "bits": k.bits, "revokedAt": k.revoked_at} for k in keys],
    }


@consumers_app.command("create")
def consumers_create(
    org: str = typer.Option(..., help="Organization domain."),
    name: str = typer.Option(...),
    issuer: str = typer.Option(None, help="Defaults to the name."),
    public_key: Path = typer.Option(..., help="PEM or JWK file."),
    kid: str = typer.Option(None),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Register an API consumer with its first public key."""
    from chrgraph.resolvers.consumers.manage import create_api_consumer

    pem = read_text(public_key, "--public-key")  # read before the event loop runs

    async def job():
        return await create_api_consumer(await support_actor(org), name=name, issuer=issuer, public_key=pem, kid=kid)

    consumer = run(job)
    emit({"issuer": consumer.issuer, "name": consumer.name}, as_json, f"created consumer {consumer.issuer}")


def _consumer_lines(row: dict) -> str:
    """A consumer, then one indented line per key: its kid and fingerprint."""
    head = f"{row['issuer']}\t{'active' if row['active'] else 'inactive'}\t{len(row['keys'])} key(s)"
    keys = [
        f"  key {k['kid'] or '-'}\t{k['fingerprint']}\t{k['bits']} bits" + ("\trevoked" if k["revokedAt"] else "")
        for k in row["keys"]
    ]
    return "\n".join([head, *keys])


@consumers_app.command("list")
def consumers_list(org: str = typer.Option(...), as_json: bool = typer.Option(False, "--json")) -> None:
    """List an organization's API consumers."""
    from chrgraph.db.models import ApiConsumerKey
    from chrgraph.resolvers.consumers.manage import list_api_consumers

    async def job():
        consumers = await list_api_consumers(await support_actor(org))
        keys = await ApiConsumerKey.filter(consumer_id__in=[c.id for c in consumers])
        return [_consumer_json(c, [k for k in keys if k.consumer_id == c.id]) for c in consumers]

    rows = run(job)
    emit(
        rows,
        as_json,
        "\n".join(_consumer_lines(r) for r in rows) or "no consumers",
    )


def _set_active(org: str, issuer: str, active: bool) -> None:
    from chrgraph.resolvers.consumers.manage import set_api_consumer_active

    async def job():
        return await set_api_consumer_active(await support_actor(org), issuer, active)

    run(job)
    typer.echo(f"{'reactivated' if active else 'deactivated'} consumer {issuer}")


@consumers_app.command("deactivate")
def consumers_deactivate(org: str = typer.Option(...), issuer: str = typer.Option(...)) -> None:
    """Deactivate a consumer: its tokens are refused from now on."""
    _set_active(org, issuer, False)


@consumers_app.command("reactivate")
def consumers_reactivate(org: str = typer.Option(...), issuer: str = typer.Option(...)) -> None:
    """Reactivate a consumer."""
    _set_active(org, issuer, True)


@consumers_app.command("add-key")
def consumers_add_key(
    org: str = typer.Option(...),
    issuer: str = typer.Option(...),
    public_key: Path = typer.Option(..., help="PEM or JWK file."),
    kid: str = typer.Option(...),
) -> None:
    """Add a public key (key rotation)."""
    from chrgraph.resolvers.consumers.manage import add_api_consumer_key

    pem = read_text(public_key, "--public-key")  # read before the event loop runs

    async def job():
        return await add_api_consumer_key(await support_actor(org), issuer, pem, kid)

    run(job)
    typer.echo(f"added key {kid} to {issuer}")


@consumers_app.command("revoke-key")
def consumers_revoke_key(
    org: str = typer.Option(...), issuer: str = typer.Option(...), kid: str = typer.Option(...)
) -> None:
    """Revoke a key: tokens signed with it are refused from now on."""
    from chrgraph.resolvers.consumers.manage import revoke_api_consumer_key

    async def job():
        return await revoke_api_consumer_key(await support_actor(org), issuer, kid)

    run(job)
    typer.echo(f"revoked key {kid} of {issuer}")


@consumers_app.command("set-cost-budget")
def consumers_set_cost_budget(
    org: str = typer.Option(...),
    issuer: str = typer.Option(...),
    cost_per_minute: int = typer.Option(None, help="Objects its documents may ask for per minute."),
    default: bool = typer.Option(False, "--default", help="Use the server's default budget again."),
) -> None:
    """Set a consumer's cost budget per minute (or --default)."""
    from chrgraph.resolvers.consumers.manage import set_api_consumer_cost_budget

    if (cost_per_minute is None) == (not default):
        typer.echo("error: give either --cost-per-minute N or --default", err=True)
        raise typer.Exit(2)

    async def job():
        return await set_api_consumer_cost_budget(await support_actor(org), issuer, cost_per_minute)

    run(job)
    typer.echo(f"cost budget of {issuer}: {cost_per_minute if cost_per_minute is not None else 'default'} per minute")


@consumers_app.command("set-permissions")
def consumers_set_permissions(
    org: str = typer.Option(...),
    issuer: str = typer.Option(...),
    permission: list[str] = typer.Option(
        None, "--permission", help="A permission it holds from now on (repeat the option for each)."
    ),
    default: bool = typer.Option(
        False, "--default", help="Every permission but MANAGE_API_CONSUMERS again (the default)."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Narrow what a consumer may do and grant (or --default)."""
    from chrgraph.resolvers.consumers.manage import consumer_held, set_api_consumer_permissions

    if bool(permission) == default:
        raise CommandFailed("INVALID_USAGE", "give either --permission P (repeatable) or --default", "permission")

    async def job():
        return await set_api_consumer_permissions(await support_actor(org), issuer, None if default else permission)

    consumer = run(job)
    held = [p.value for p in consumer_held(consumer)]
    emit(
        {"issuer": consumer.issuer, "permissions": held, "default": consumer.permissions is None},
        as_json,
        f"permissions of {consumer.issuer}: {', '.join(held) or 'none'}",
    )


@app.command()
def token(
    issuer: str = typer.Option(...),
    private_key: Path = typer.Option(..., help="RSA private key (PEM)."),
    ttl: int = typer.Option(300, min=1, max=900, help="Seconds of validity (at most 900)."),
    kid: str = typer.Option(None),
) -> None:
    """Sign an RS512 token the way a vendor would (for trying the API with curl)."""
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import RSAKey

    data = read_bytes(private_key, "--private-key")
    try:
        key = RSAKey.import_key(data)
    except (ValueError, TypeError, JoseError):  # never echo what the file holds
        key = None
    if key is None or not key.is_private:
        raise CommandFailed("INVALID_KEY", f"--private-key {private_key} is not an RSA private key (PEM)", "privateKey")
    now = int(time.time())
    header = {"alg": "RS512", **({"kid": kid} if kid else {})}
    typer.echo(jwt.encode(header, {"iss": issuer, "iat": now, "exp": now + ttl}, key, algorithms=["RS512"]))


def _delivery_id(text: str) -> str:
    """A delivery's public id, from its global id (as GraphQL shows it) or the id itself."""
    import base64
    import binascii

    from chrgraph.db.public_ids import is_public_id

    if is_public_id(text):
        return text
    try:
        type_name, _, public_id = base64.b64decode(text, validate=True).decode("ascii").partition(":")
    except (binascii.Error, ValueError):
        type_name, public_id = "", ""
    if type_name != "WebhookDelivery" or not is_public_id(public_id):
        raise CommandFailed("NOT_FOUND", f"--delivery {text!r} is not a webhook delivery id", "deliveryId")
    return public_id


def _delivery_json(row) -> dict:
    from chrgraph.db.public_ids import global_id

    return {
        "id": global_id("WebhookDelivery", row.public_id),
        "subscriptionId": global_id("WebhookSubscription", row.subscription.public_id),
        "consumer": row.subscription.consumer_id,
        "messageId": row.event.payload["id"],
        "event": row.event_type,
        "status": row.status,
        "attemptCount": row.attempt_count,
        "lastHttpStatus": row.last_http_status,
        "createdAt": row.created_at,
        "nextAttemptAt": row.next_attempt_at if row.status == "PENDING" else None,
        "attempts": [
            {"at": a.at, "httpStatus": a.http_status, "durationMs": a.duration_ms, "errorClass": a.error_class}
            for a in sorted(row.attempts, key=lambda a: a.id)
        ],
    }


@webhooks_app.command("list")
def webhooks_list(
    org: str = typer.Option(..., help="Organization domain."),
    limit: int = typer.Option(50, min=1, max=1000, help="Newest deliveries shown."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Every consumer's webhook subscriptions and their newest deliveries."""
    from chrgraph.db.public_ids import global_id
    from chrgraph.resolvers.webhooks import queries

    async def job():
        actor = await support_actor(org)
        subscriptions = await queries.subscriptions(actor)
        rows = await queries.deliveries_query(actor).order_by(*queries.DELIVERY_ORDER).limit(limit)
        return {
            "subscriptions": [
                {
                    "id": global_id("WebhookSubscription", s.public_id),
                    "consumer": s.consumer_id,
                    "url": s.url,
                    "events": s.events,
                    "active": s.active,
                    "disabledReason": s.disabled_reason,
                }
                for s in subscriptions
            ],
            "deliveries": [_delivery_json(r) for r in rows],
        }

    found = run(job)
    lines = [
        f"subscription {s['id']} {'active' if s['active'] else 'disabled'} {s['url']} {','.join(s['events'])}"
        for s in found["subscriptions"]
    ] + [
        f"delivery {d['id']} {d['event']} {d['status']} attempts={d['attemptCount']} last={d['lastHttpStatus']}"
        for d in found["deliveries"]
    ]
    emit(found, as_json, "\n".join(lines) or "no webhook subscriptions")


@webhooks_app.command("redeliver")
def webhooks_redeliver(
    org: str = typer.Option(..., help="Organization domain."),
    delivery: str = typer.Option(..., help="The delivery's id (as `webhooks list` shows it)."),
) -> None:
    """Queue a delivery again, due now, with the same message id."""
    from chrgraph.resolvers.webhooks.subscriptions import redeliver_webhook_event

    public_id = _delivery_id(delivery)

    async def job():
        return await redeliver_webhook_event(await support_actor(org), public_id)

    row = run(job)
    typer.echo(f"delivery {delivery} queued again ({row.status})")


@logs_app.command("show")
def logs_show(
    org: str = typer.Option(...),
    consumer: str = typer.Option(None, help="Issuer."),
    since: str = typer.Option(None, help=f"At or after this instant. {INSTANT_HELP}"),
    until: str = typer.Option(None, help=f"Before this instant. {INSTANT_HELP}"),
    status: int = typer.Option(None, min=100, max=599, help="Only this HTTP status."),
    operation: str = typer.Option(None, help="Only this GraphQL operation name."),
    request_id: str = typer.Option(None, help="Only this request id."),
    limit: int = typer.Option(100, min=1, help="At most this many rows."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show API log rows, newest first; with --json, their content too (query text,
    variables and answer, decrypted with the API log encryption key)."""
    from chrgraph.db import log_keys
    from chrgraph.resolvers.audit.api_logs import api_logs_query

    since_at, until_at = instant_option(since, "--since"), instant_option(until, "--until")
    if as_json:  # a missing or unreadable key stops before the database is opened
        log_keys.current.install(log_keys.load_key_ring(log_keys.key_ring_path(get_settings())))

    async def job():
        actor = await support_actor(org)
        query = await api_logs_query(
            actor,
            issuer=consumer,
            since=since_at,
            until=until_at,
            status=status,
            operation_name=operation,
            request_id=request_id,
        )
        return [_log_json(row, content=as_json) for row in await query.limit(limit)]

    rows = run(job)
    emit(
        rows,
        as_json,
        "\n".join(
            f"{shown(r['createdAt'])}\t{r['issuer']}\t{r['status']}\t{r['operationName'] or '-'}\t{r['requestId']}"
            for r in rows
        )
        or "no rows",
    )


def _log_json(row, *, content: bool) -> dict:
    shown = {
        "createdAt": row.created_at,
        "issuer": row.consumer.issuer,
        "keyId": row.key_id,
        "keyFingerprint": row.key_fingerprint,
        "requestId": row.request_id,
        "clientRequestId": row.client_request_id,
        "method": row.method,
        "operationName": row.operation_name,
        "status": row.status,
        "durationMs": round(row.duration_ms, 3),
    }
    if content:  # the operator holds the key file: the command line shows all
        shown |= {"query": row.query, "variables": row.variables, "responseBody": row.response_body}
    return shown


@logs_app.command("rotate-key")
def logs_rotate_key() -> None:
    """Add a new API log encryption key (beside the SQLite database by default, or at
    CHRGRAPH_LOG_ENCRYPTION_KEY): new rows are encrypted with it, older rows stay readable
    with the keys before it. Running servers pick it up within seconds."""
    from chrgraph.db import log_keys

    path = log_keys.key_ring_path(get_settings())
    ring = log_keys.rotate(path)
    typer.echo(f"API log encryption key {ring.newest} added to {path} ({len(ring.keys)} key(s))")


@logs_app.command("purge")
def logs_purge() -> None:
    """Delete API log rows older than the retention (90 days by default)."""
    from chrgraph.audit.api_log import purge_api_logs

    count = run(lambda: purge_api_logs(get_settings().api_log_retention_days))
    typer.echo(f"purged {count} row(s)")


@audit_app.command("init")
def audit_init() -> None:
    """Make the audit signing key and the anchor file if they are missing (beside the
    SQLite database by default, or at CHRGRAPH_AUDIT_SIGNING_KEY and
    CHRGRAPH_AUDIT_ANCHOR_FILE); existing files are kept."""
    files = _audit_files()
    made_key, made_anchor = _create_audit_files(files)
    typer.echo(f"audit signing key {'created at' if made_key else 'already at'} {files.key}")
    typer.echo(f"audit anchor file {'created at' if made_anchor else 'already at'} {files.anchor}")


@audit_app.command("checkpoint")
def audit_checkpoint(org: str = typer.Option(None, help="Only this organization.")) -> None:
    """Sign a checkpoint of each audit chain head now (stored in the database and
    appended to the anchor file)."""
    from chrgraph.audit.anchor import require_anchor_file
    from chrgraph.audit.checkpoint import load_signing_key, sign_checkpoints

    files = _audit_files()
    load_signing_key(files.key)  # a missing or wrong key or anchor stops before the database is opened
    require_anchor_file(files.anchor)

    async def job():
        org_id = (await organization(org)).id if org else None
        return await sign_checkpoints(files, org_id)

    made = run(job)
    typer.echo(f"signed {len(made)} checkpoint(s)")


@audit_app.command("verify")
def audit_verify(
    org: str = typer.Option(...),
    public_key: Path = typer.Option(None, help="Ed25519 public key (PEM or hex); default: from the signing key."),
    anchors: Path = typer.Option(None, help="The anchor file; default: CHRGRAPH_AUDIT_ANCHOR_FILE's resolution."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Check the chain, the checkpoints in the database and those in the anchor file
    against each other. Exit 0 when intact, 1 when tampered with (an event edited,
    removed or inserted at or before a checkpoint, checkpoints or anchor lines removed,
    the chain rewritten), 2 when the check cannot be made (unknown organization, missing
    or unreadable key or anchor file, a key that signed none of the checkpoints)."""
    from chrgraph.audit.anchor import read_anchor
    from chrgraph.audit.checkpoint import load_public_key, load_signing_key
    from chrgraph.audit.verify import CannotVerify, verify_chain
    from chrgraph.resolvers.errors import OperationFailed

    # Both files given: nothing to resolve (a verifier may hold copies on another machine).
    files = _audit_files() if public_key is None or anchors is None else AuditFiles(public_key, anchors)
    key = load_public_key(public_key) if public_key else load_signing_key(files.key).public_key()
    anchor_path = anchors or files.anchor

    async def job():
        org_id = (await organization(org)).id
        return await verify_chain(org_id, key, read_anchor(anchor_path, org_id))

    try:
        report = run(job)
    except OperationFailed as failed:  # exit 1 means "tampered": an unknown organization is not that
        error = failed.errors[0]
        raise CommandFailed(error.code.value, error.message, "org") from None
    except CannotVerify as cannot:
        raise CommandFailed("KEY_MISMATCH", str(cannot), "publicKey") from None
    emit(
        {
            "ok": report.ok,
            "events": report.events,
            "checkpoints": report.checkpoints,
            "anchored": report.anchored,
            "lastCheckpointSeq": report.last_checkpoint_seq,
            "problems": report.problems,
            "notes": report.notes,
        },
        as_json,
        "\n".join(
            [
                f"events: {report.events}, checkpoints: {report.checkpoints} in the database, "
                f"{report.anchored} in the anchor file, newest verified at seq {report.last_checkpoint_seq}",
                *report.notes,
                *report.problems,
                "OK" if report.ok else f"TAMPERED: {len(report.problems)} inconsistency(ies)",
            ]
        ),
    )
    raise typer.Exit(0 if report.ok else 1)


@users_app.command("import")
def users_import(
    org: str = typer.Option(..., help="Organization domain."),
    file: Path = typer.Argument(..., help="CSV of legacy users (UTF-8, with or without a BOM)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Import legacy users without licenses, then run license mapping and enforcement."""
    from chrgraph.resolvers.licensing.importer import import_users

    data = read_bytes(file, "FILE")  # decoded by the importer, as Excel writes CSV

    async def job():
        actor = await operator_of(org)
        with progress_bar(quiet=as_json) as bar:
            task = bar.add_task("importing", total=None)
            return await import_users(actor, data, lambda done, total: bar.update(task, completed=done, total=total))

    result = run(job)
    mapping = result.mapping
    summary = {
        "imported": len(result.imported),
        "mappedAutomatically": len(mapping.applied) if mapping else 0,
        "unmapped": len(mapping.unmapped) if mapping else 0,
        "enforced": result.enforced,
    }
    emit(summary, as_json, ", ".join(f"{k}: {v}" for k, v in summary.items()))


@users_app.command("email-clashes")
def users_email_clashes(as_json: bool = typer.Option(False, "--json")) -> None:
    """List login accounts whose email is a look-alike of another's, or that the email
    rules refuse today (created before them). Nothing is changed; exit code 1 when any."""
    from dataclasses import asdict

    from chrgraph.resolvers.users.email_clashes import email_clashes

    clashes = run(email_clashes)

    def line(c) -> str:
        a, other = c.account, c.clashes_with
        text = f"{a.organization}\t{a.user_id}\t{a.email!a}\t{a.type}\t{a.status}\t{c.reason}"
        return text + (f"\twith {other.organization}\t{other.user_id}\t{other.email!a}" if other else "")

    emit([asdict(c) for c in clashes], as_json, "\n".join(line(c) for c in clashes) or "no email clashes")
    raise typer.Exit(1 if clashes else 0)


@users_app.command("transfer-lab-integration")
def users_transfer_lab_integration(
    org: str = typer.Option(..., help="Organization domain."),
    to: str = typer.Option(..., help="Email of the active user who backs it from now on."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Transfer the main lab integration (support only), ahead of a deactivation."""
    from chrgraph.resolvers.deactivation.transfer_lab_integration import transfer_main_lab_integration

    async def job():
        return await transfer_main_lab_integration(await operator_of(org), to)

    lab = run(job)
    emit({"labIntegration": lab.name, "isMain": lab.is_main, "to": to}, as_json, f"{lab.name}: now backed by {to}")


@users_app.command("reset-second-factor")
def users_reset_second_factor(
    org: str = typer.Option(..., help="Organization domain."),
    email: str = typer.Option(..., help="The login email of the user (the owner and support account included)."),
    reason: str = typer.Option(..., help="Why (a ticket, who asked): kept in the audit event."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Break-glass: remove a user's second factor and end its sessions (an owner who lost
    the phone and every recovery code), as the support account, with the reason audited."""
    from chrgraph.resolvers.users.two_factor import break_glass_reset

    async def job():
        return await break_glass_reset(await operator_of(org), email, reason)

    user, revoked = run(job)
    emit(
        {"email": user.email, "secondFactor": "removed", "sessionsRevoked": revoked},
        as_json,
        f"second factor removed for {user.email}; {revoked} session(s) ended",
    )


@licenses_app.command("enforce")
def licenses_enforce(org: str = typer.Option(None, help="Only this organization.")) -> None:
    """Give unlicensed users the highest fitting tier on and after the enforcement date."""
    from chrgraph.resolvers.licensing.enforcement import enforce_licenses

    async def job():
        org_id = (await organization(org)).id if org else None
        with progress_bar() as bar:
            task = bar.add_task("enforcing", total=None)
            return await enforce_licenses(
                org_id, progress=lambda done, total: bar.update(task, completed=done, total=total)
            )

    typer.echo(f"assigned {run(job)} license(s)")


@billing_app.command("statement")
def billing_statement_cmd(
    org: str = typer.Option(...),
    month: str = typer.Option(..., help="YYYY-MM"),
    csv_out: bool = typer.Option(False, "--csv", help="CSV: license,billed,count,emails"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The month's billed users per license, the UNLICENSED line and next month's forecast.

    An organization not under license management (CUSTOM contract) has no lines."""
    import sys

    from chrgraph.resolvers.csv_files import write_csv
    from chrgraph.resolvers.licensing.billing import billing_statement

    async def job():
        return await billing_statement(await operator_of(org), month)

    statement, forecast = run(job)

    def rows(s):
        return [
            {
                "month": s.month,
                "license": line.license.value if line.license else "UNLICENSED",
                "billed": line.billed,
                "count": line.count,
                "users": [u.email for u in line.users],
            }
            for line in s.lines
        ]

    if not statement.under_license_management:
        note = f"{org} is not under license management (CUSTOM contract): its statement has no lines."
        if csv_out:
            typer.echo(note, err=True)
            write_csv(sys.stdout, ["month", "license", "billed", "count", "users"], [])
        else:
            emit({"underLicenseManagement": False, "statement": [], "forecast": []}, as_json, note)
        return
    if csv_out:
        write_csv(
            sys.stdout,
            ["month", "license", "billed", "count", "users"],
            (
                [row["month"], row["license"], row["billed"], row["count"], " ".join(row["users"])]
                for row in rows(statement) + rows(forecast)
            ),
        )
        return
    emit(
        {"underLicenseManagement": True, "statement": rows(statement), "forecast": rows(forecast)},
        as_json,
        "\n".join(
            f"{r['month']}  {r['license']:<17} {'billed' if r['billed'] else 'not billed':<10} {r['count']}"
            for r in rows(statement) + rows(forecast)
        ),
    )


def main() -> None:
    sys.exit(boundary.run(app, sys.argv[1:]))
