"""Tenant scope by construction: `chrgraph/schema/` holds GraphQL types and reads
nothing itself (its reads live in `chrgraph/resolvers/<domain>/queries.py`), and a
model with an organization is queried through `OrganizationData`
(chrgraph/db/tenant.py: `actor.data`, `context.data`) everywhere except the few places
listed in `CROSS_TENANT`, each with its reason.

`schema/relay.py`'s `paginate` runs a queryset a resolver built: it is handed the query,
it never names a model."""

from __future__ import annotations

import ast
from pathlib import Path

from tortoise.models import Model

import chrgraph.db.models as models
from chrgraph.db.tenant import TENANT_MODELS

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "chrgraph"

# Class methods of a Tortoise model that start a query (or write a row); `bulk_create`
# is not one: its rows are built (and scanned) one by one.
QUERY_METHODS = frozenset(
    {
        "all",
        "annotate",
        "create",
        "earliest",
        "exclude",
        "exists",
        "filter",
        "first",
        "get",
        "get_or_create",
        "get_or_none",
        "in_bulk",
        "last",
        "latest",
        "raw",
        "select_for_update",
        "update_or_create",
    }
)

MODELS = {name: value for name, value in vars(models).items() if isinstance(value, type) and issubclass(value, Model)}
TENANT_OWNED = {name for name, model in MODELS.items() if "organization" in model._meta.fields_map}

# (file, enclosing function): why it may query a tenant-owned model without the scope.
CROSS_TENANT: dict[tuple[str, str], str] = {
    ("chrgraph/db/tenant.py", "*"): "the scope itself",
    ("chrgraph/db/migrations", "*"): "migrations act on every organization's rows",
    # Before any organization is known: the credential names it.
    ("chrgraph/resolvers/users/login.py", "login"): "login by email: the organization is not known yet",
    ("chrgraph/resolvers/users/accept_invitation.py", "accept_invitation"): "an invitation token names its user",
    ("chrgraph/resolvers/users/password_changes.py", "request_password_reset"): (
        "a reset request by email: the organization is not known yet"
    ),
    ("chrgraph/resolvers/users/password_changes.py", "reset_password"): "a reset token names its user",
    ("chrgraph/resolvers/users/two_factor.py", "verify_second_factor"): "a login challenge token names its user",
    ("chrgraph/auth/sessions.py", "*"): "a session token names its user",
    ("chrgraph/auth/consumers.py", "*"): "issuer lookup of API consumers: the signed token names the consumer",
    ("chrgraph/resolvers/consumers/manage.py", "create_api_consumer"): "issuers are unique across organizations",
    ("chrgraph/resolvers/licensing/importer.py", "import_users"): "login emails are unique across organizations",
    ("chrgraph/resolvers/organizations/create_organization.py", "create_organization"): (
        "support login emails are unique across organizations"
    ),
    ("chrgraph/resolvers/portal/images.py", "served_background"): "the public image URL: its token names the image",
    # The audit chain and the API log write to the organization each row names.
    ("chrgraph/audit", "*"): "the audit chain, its checkpoints and the API log, per organization they are given",
    # Batch work over every organization.
    ("chrgraph/resolvers/users/outbox.py", "*"): "the mail worker delivers every organization's queued mail",
    ("chrgraph/db/idempotency.py", "purge_expired_keys"): "the purge removes every organization's expired keys",
    ("chrgraph/resolvers/webhooks/delivery.py", "*"): "the webhook worker delivers every organization's events",
    ("chrgraph/resolvers/users/email_clashes.py", "email_clashes"): "login emails are unique across organizations",
    # Reads by foreign keys of rows already read within the organization, never by a client's id.
    ("chrgraph/resolvers/loaders.py", "*"): "DataLoaders batch foreign keys of rows already read",
    ("chrgraph/resolvers/users/queries.py", "module"): "a page's roles, named by its users' role links",
    ("chrgraph/resolvers/scheduling/queries.py", "module"): "a page's practitioners and patients, named by its rows",
    ("chrgraph/resolvers/users/invitations.py", "issue_invitation"): "queues mail in the organization of its user",
    ("chrgraph/resolvers/users/password_resets.py", "issue_password_reset"): (
        "queues mail in the organization of its user"
    ),
}


def _allowed(path: str, function: str) -> bool:
    for (place, name), _reason in CROSS_TENANT.items():
        if (path == place or path.startswith(place + "/")) and name in ("*", function):
            return True
    return False


class _Scan(ast.NodeVisitor):
    """Which names of a module stand for models, and where they are used."""

    def __init__(self, tree: ast.Module) -> None:
        self.model_names: dict[str, str] = {}  # local name -> model class name
        self.module_names: set[str] = set()  # local names of chrgraph.db.models
        self.library_imports: list[tuple[int, str]] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith("chrgraph.db.models"):
                    for alias in node.names:
                        if alias.name in MODELS:
                            self.model_names[alias.asname or alias.name] = alias.name
                if node.module == "chrgraph.db":
                    for alias in node.names:
                        if alias.name == "models":
                            self.module_names.add(alias.asname or alias.name)
                if node.module.split(".")[0] == "tortoise" or node.module in (
                    "chrgraph.db.raw",
                    "chrgraph.db.tenant",
                ):
                    self.library_imports.append((node.lineno, node.module))
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("chrgraph.db.models") and alias.asname:
                        self.module_names.add(alias.asname)
                    if alias.name.split(".")[0] == "tortoise":
                        self.library_imports.append((node.lineno, alias.name))

    def model_of(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return self.model_names.get(node.id)
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in self.module_names
            and node.attr in MODELS
        ):
            return node.attr
        return None


def _functions(tree: ast.Module) -> dict[ast.AST, str]:
    """Each node -> the name of the function it sits in ("" at module level)."""
    owner: dict[ast.AST, str] = {}

    def walk(node: ast.AST, name: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else name
            owner[child] = inner
            walk(child, inner)

    walk(tree, "")
    return owner


def _annotation_nodes(tree: ast.Module) -> set[int]:
    """Ids of every node inside a type annotation (a model named there queries nothing)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        annotations: list[ast.AST | None] = []
        if isinstance(node, ast.arg):
            annotations.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            annotations.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
        for annotation in annotations:
            if annotation is not None:
                inside.update(id(n) for n in ast.walk(annotation))
    return inside


def unscoped_queries(path: Path) -> list[str]:
    """Queries of a tenant-owned model that do not go through `OrganizationData`."""
    relative = path.relative_to(ROOT).as_posix()
    tree = ast.parse(path.read_text(), str(path))
    scan, owner = _Scan(tree), _functions(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        model, how = None, ""
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in QUERY_METHODS:
            model, how = scan.model_of(func.value), f".{func.attr}()"
        elif isinstance(func, ast.Name) and func.id == "ByIds" and node.args:
            model, how = scan.model_of(node.args[0]), " by ids"
        elif any(k.arg in ("organization_id", "organization") for k in node.keywords):
            # A row built, or inserted by a helper, with its organization written by hand.
            named = [scan.model_of(func), *(scan.model_of(arg) for arg in node.args)]
            model, how = next((m for m in named if m is not None), None), "(organization_id=…)"
        if model in TENANT_OWNED and not _allowed(relative, owner.get(node) or "module"):
            found.append(f"{relative}:{node.lineno} in {owner.get(node) or 'module'}: {model}{how}")
    return found


def schema_reads(path: Path) -> list[str]:
    """Anything under schema/ that reads the database itself rather than calling a resolver."""
    relative = path.relative_to(ROOT).as_posix()
    tree = ast.parse(path.read_text(), str(path))
    scan = _Scan(tree)
    annotations = _annotation_nodes(tree)
    found = [f"{relative}:{line}: imports {module}" for line, module in scan.library_imports]
    for node in ast.walk(tree):
        if id(node) in annotations or not isinstance(node, ast.Name | ast.Attribute):
            continue
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            continue
        model = scan.model_of(node)
        if model is not None:
            found.append(f"{relative}:{node.lineno}: uses the model {model} (a read belongs in resolvers/)")
    return found


def _sources(under: Path) -> list[Path]:
    return sorted(under.rglob("*.py"))


def test_tenant_models_are_every_model_with_an_organization():
    assert {m.__name__ for m in TENANT_MODELS} == TENANT_OWNED


def test_schema_reads_nothing_itself():
    found = [line for path in _sources(PACKAGE / "schema") for line in schema_reads(path)]
    assert found == [], "\n".join(found)


def test_tenant_owned_models_are_queried_through_the_organization_scope():
    found = [line for path in _sources(PACKAGE) for line in unscoped_queries(path)]
    assert found == [], "\n".join(found)


def test_every_cross_tenant_place_exists_and_says_why():
    for (place, _function), reason in CROSS_TENANT.items():
        assert (ROOT / place).exists() or (ROOT / (place + ".py")).exists(), place
        assert reason.strip(), place


def test_the_scans_see_a_violation(tmp_path):
    """The checks above would fail on a hand-written tenant filter and on a read in schema/."""
    schema_dir = PACKAGE / "schema"
    probe = schema_dir / "_probe_tenant_scope.py"
    probe.write_text(
        "from chrgraph.db.models import Patient as PatientModel\n\n\n"
        "async def patient(pk: int, org: int) -> PatientModel | None:\n"
        "    return await PatientModel.get_or_none(id=pk, organization_id=org)\n"
    )
    try:
        assert len(schema_reads(probe)) == 1
        assert len(unscoped_queries(probe)) == 1
    finally:
        probe.unlink()
