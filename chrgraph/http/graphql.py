"""The `/graphql` endpoint: the HTTP checks after size, content type and credentials
(the guard and the auth middleware did those), in order: a body that is not a GraphQL
request or batch (400), an anonymous request other than a public mutation (401), a
mutation over GET (405), a document that does not parse, validate or fit the limits
(400), a consumer over its cost budget (429), then the answer (200).

We parse, validate and measure documents ourselves (bounded LRU caches, keyed by the
document text) so that each failure gets its own HTTP status and code, then run the
operation with graphql-core's `execute` on strawberry's schema, as strawberry itself
does (`chrgraph.graphql_engine`, with or without its fast paths); strawberry's schema
extensions therefore never run here, and a schema that has one is refused at start.
Unexpected exceptions are masked with the request id; the details go to the log."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

import orjson
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    parse,
    validate,
)
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import Receive, Scope, Send
from strawberry import Schema
from strawberry.exceptions import StrawberryInputCoercionError

from chrgraph.audit.redact import RedactionPlan, RequestRedaction
from chrgraph.auth.errors import AuthError, AuthReason
from chrgraph.auth.principals import Principal, PrincipalKind
from chrgraph.budget import Charge, CostBudgets
from chrgraph.context import Context
from chrgraph.db import idempotency
from chrgraph.db.idempotency import Claim
from chrgraph.db.outage import database_unreachable
from chrgraph.db.transactions import commits_so_far
from chrgraph.graphql_engine import check_extensions, core_schema, execute
from chrgraph.http import idempotency as keys
from chrgraph.http.admin import graphiql_page
from chrgraph.http.answers import error_body, send_json, send_payload, send_unavailable
from chrgraph.http.auth import send_unauthorized
from chrgraph.http.client import client_address
from chrgraph.http.scope import BODY, GRAPHQL_REQUEST, PATIENTS_READ, PRINCIPAL, REDACTION, REQUEST_ID, header
from chrgraph.schema import schema as default_schema
from chrgraph.schema.limits import CostRules, Measured, measure
from chrgraph.schema.loaders import make_loaders
from chrgraph.schema.permissions import public_mutations
from chrgraph.schema.secrets import SecretShapes
from chrgraph.settings import Settings
from chrgraph.telemetry import describe_principal, forbidden_answers, log, tracer

_SUGGESTION = re.compile(r"\s*Did you mean .*\?$")


class _DatabaseUnreachable(Exception):
    """An operation failed because the database could not be reached, before anything
    committed: the request is answered 503 (nothing changed; the client may retry)."""


class Refused(Exception):
    """An answer before execution: HTTP status and GraphQL-shaped errors."""

    def __init__(self, status: int, code: str, messages: list[str], headers=None, extensions=None) -> None:
        super().__init__(code)
        self.status, self.code, self.messages, self.headers = status, code, messages, headers
        self.extensions = extensions or {}


@dataclass(frozen=True)
class GraphQLRequest:
    query: str
    operation_name: str | None
    variables: dict[str, Any] | None


@dataclass(frozen=True)
class Prepared:
    """A document that parsed, validated and is within the limits, with what each of
    its operations costs."""

    document: DocumentNode
    measured: Measured
    redaction: RedactionPlan  # what the API log redacts in it


@dataclass(frozen=True, slots=True)
class Planned:
    """One operation of the request, ready to run, and what it costs with its variables."""

    document: DocumentNode
    operation: OperationDefinitionNode
    cost: int
    redaction: RedactionPlan


class DocumentCache:
    def __init__(self, settings: Settings, schema: Schema) -> None:
        self.settings = settings
        self.core = core_schema(schema)
        self.rules = CostRules(self.core, settings.default_page_size, settings.max_page_size)
        self.secrets = SecretShapes(self.core)
        self.prepare = lru_cache(maxsize=settings.parser_cache_size)(self._prepare)
        self.parse = lru_cache(maxsize=settings.parser_cache_size)(self._parse)

    def _parse(self, query: str) -> DocumentNode | Refused:
        try:
            return parse(query, no_location=False, max_tokens=self.settings.max_tokens)
        except GraphQLError as error:
            if "tokens" in error.message and "Parsing aborted" in error.message:
                return Refused(
                    400,
                    "QUERY_TOO_COMPLEX",
                    [f"The document has more than {self.settings.max_tokens} tokens."],
                )
            if "nested too deeply" in error.message:  # graphql-core's own nesting cap (200)
                return Refused(400, "QUERY_TOO_COMPLEX", ["The document is nested too deeply."])
            return Refused(400, "GRAPHQL_PARSE_FAILED", [error.message])

    def _prepare(self, query: str) -> Prepared | Refused:
        document = self.parse(query)
        if isinstance(document, Refused):
            return document
        # Validation compares field pairs (quadratic) and reports each unknown directive:
        # count selections and directives before paying for it.
        selections, directives = _count_selections(document)
        if selections > self.settings.max_selections:
            return Refused(
                400,
                "QUERY_TOO_COMPLEX",
                [f"The document has {selections} selections; at most {self.settings.max_selections}."],
            )
        if directives > self.settings.max_directives:
            return Refused(
                400,
                "QUERY_TOO_COMPLEX",
                [f"The document has {directives} directives; at most {self.settings.max_directives}."],
            )
        most = self.settings.max_validation_errors
        errors = validate(self.core, document, max_errors=most, hide_suggestions=True)
        if any(e.message == "Validation aborted." for e in errors):
            # graphql-core gave up: its field-comparison budget ran out (field duplication)
            # or validation recursed too deep. That is the document's cost, not a mistake.
            return Refused(400, "QUERY_TOO_COMPLEX", ["The document is too complex to validate."])
        if errors:
            messages = [_SUGGESTION.sub("", e.message) for e in errors[:most]]
            if len(errors) > most:  # graphql-core's own "error limit reached" entry
                messages.append(f"Validation stopped after {most} errors.")
            return Refused(400, "GRAPHQL_VALIDATION_FAILED", messages)
        measured = measure(document, self.rules)
        depth, aliases = measured.depth, measured.aliases
        if measured.expansions > 1:
            return Refused(
                400,
                "QUERY_TOO_COMPLEX",
                ["Introspection may list a type's fields, interfaces or members once per path."],
            )
        if depth > self.settings.max_depth:
            return Refused(
                400,
                "QUERY_TOO_COMPLEX",
                [f"The query is {depth} levels deep; at most {self.settings.max_depth}."],
            )
        if aliases > self.settings.max_aliases:
            return Refused(
                400,
                "QUERY_TOO_COMPLEX",
                [f"The query uses {aliases} aliases; at most {self.settings.max_aliases}."],
            )
        return Prepared(document, measured, self.secrets.plan(document))


async def _multipart_upload(scope: Scope) -> tuple[GraphQLRequest, GraphQLRequest, Any]:
    """The GraphQL multipart request spec: `operations`, `map`, then the files, which
    replace the variables the map names. Anything else is 400 BAD_REQUEST.
    Returns the request to run (the files in place), the request as the API log keeps
    it (each file described, never its bytes) and the form, to be closed once the
    request ran."""
    body = scope.get(BODY, b"")
    delivered = False

    async def replay():
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    not_upload = Refused(400, "BAD_REQUEST", ["multipart/form-data is only for GraphQL file uploads."])
    try:
        form = await Request(scope, replay).form(max_files=5, max_fields=10)
    except Exception as exc:  # python-multipart's parse errors and Starlette's limits
        raise not_upload from exc
    try:
        operations, mapping = form.get("operations"), form.get("map")
        if not isinstance(operations, str) or not isinstance(mapping, str):
            raise ValueError("operations and map are plain fields")
        sent = _request_from(orjson.loads(operations))
        mapping = orjson.loads(mapping)
        if not isinstance(mapping, dict) or not mapping:
            raise ValueError("not an upload")
        # Two more copies of the variables: one gets the files, to run; the other what
        # the API log keeps of them (name, type, size, digest; never their bytes).
        variables = orjson.loads(operations).get("variables") or {}
        logged = orjson.loads(operations).get("variables") or {}
        for key, paths in mapping.items():
            upload = form.get(key)
            if not isinstance(upload, UploadFile) or not isinstance(paths, list):
                raise ValueError("map names a missing file")
            described = await _described(key, upload)
            for path in paths:
                _put(variables, path, upload)
                _put(logged, path, described)
    except (ValueError, Refused) as exc:  # orjson.JSONDecodeError is a ValueError
        await form.close()
        raise not_upload from exc
    return (
        GraphQLRequest(sent.query, sent.operation_name, variables),
        GraphQLRequest(sent.query, sent.operation_name, logged),
        form,
    )


async def _described(part: str, upload: UploadFile) -> dict[str, Any]:
    """An uploaded file as the API log keeps it: the form part that carried it, its
    name, content type, size and SHA-256 (its bytes stay out of the log)."""
    content = await upload.read()
    await upload.seek(0)
    return {
        "upload": {
            "part": part[:255],
            "filename": (upload.filename or "")[:255],
            "contentType": (upload.content_type or "")[:255],
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
        }
    }


_LIST_INDEX = re.compile(r"0|[1-9][0-9]{0,8}")


def _put(variables: dict[str, Any], path: object, value: Any) -> None:
    """Put `value` at `path` (`variables.input.files.0`). Every step must exist in the
    variables as sent: a member of an object, or an index within a list. A path the
    operation does not have, an index past a list's end, a step into a string, a number,
    null or another file is a ValueError (the caller's 400), never an IndexError."""
    if not isinstance(path, str):
        raise ValueError("a path is a string")
    root, *steps = path.split(".")
    if root != "variables" or not steps:
        raise ValueError("a path starts with `variables.`")
    container: Any = variables
    for position, step in enumerate(steps):
        slot: str | int
        if isinstance(container, dict) and step in container:
            slot = step
        elif isinstance(container, list) and _LIST_INDEX.fullmatch(step) and int(step) < len(container):
            slot = int(step)
        else:
            raise ValueError("the path leaves the variables")
        if position == len(steps) - 1:
            container[slot] = value
        else:
            container = container[slot]


def _count_selections(document: DocumentNode) -> tuple[int, int]:
    """Selections and directives written in the document (fragments counted where
    defined)."""
    count = directives = 0
    stack = []
    for definition in document.definitions:
        directives += len(getattr(definition, "directives", None) or ())
        for variable in getattr(definition, "variable_definitions", None) or ():
            directives += len(variable.directives or ())
        stack.append(getattr(definition, "selection_set", None))
    while stack:
        selection_set = stack.pop()
        if selection_set is None:
            continue
        count += len(selection_set.selections)
        for selection in selection_set.selections:
            directives += len(selection.directives or ())
            stack.append(getattr(selection, "selection_set", None))
    return count, directives


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


def _request_from(data: Any) -> GraphQLRequest:
    if not isinstance(data, dict) or not isinstance(data.get("query"), str):
        raise Refused(400, "BAD_REQUEST", ["A GraphQL request is an object with a `query` string."])
    variables = data.get("variables")
    operation_name = data.get("operationName")
    if variables is not None and not isinstance(variables, dict):
        raise Refused(400, "BAD_REQUEST", ["`variables` must be an object."])
    if operation_name is not None and not isinstance(operation_name, str):
        raise Refused(400, "BAD_REQUEST", ["`operationName` must be a string."])
    return GraphQLRequest(data["query"], operation_name, variables)


class GraphQLEndpoint:
    def __init__(self, settings: Settings, schema: Schema = default_schema) -> None:
        check_extensions(schema)  # an extension this endpoint would skip fails here, at start
        self.settings = settings
        self.schema = schema
        # Mutations an anonymous caller may send: those whose permission class is `Public`.
        self.public_mutations = public_mutations(schema)
        self.documents = DocumentCache(settings, schema)
        self.budgets = CostBudgets(settings.redis_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method == "GET" and self._wants_ide(scope):
            await self._send_ide(send)
            return
        if method not in ("GET", "POST"):
            await send_json(send, 405, error_body("Use GET or POST.", "METHOD_NOT_ALLOWED"), [(b"allow", b"GET, POST")])
            return
        form = None
        try:
            requests, sent, batched, form = await self._read(scope)
            scope[GRAPHQL_REQUEST] = _log_view(sent, batched)
            principal = scope.get(PRINCIPAL)
            if principal is None:
                self._check_anonymous(requests, batched)
            prepared = self._prepare_all(requests, batched, method)
            # Name the operation for the API log even when the client sent no operationName.
            named = [_operation_name(p.operation, req) for p, req in zip(prepared, requests, strict=True)]
            query, _, variables = scope[GRAPHQL_REQUEST]
            scope[GRAPHQL_REQUEST] = (query, ",".join(n or "" for n in named) or None, variables)
            if principal is not None and principal.kind is PrincipalKind.CONSUMER:
                scope[REDACTION] = _redaction(prepared, sent, batched)
            key = _idempotency_key(scope, principal, batched, prepared)
            charge = await self._charge(principal, sum(p.cost for p in prepared))
            claim = None
            if key is not None:
                assert principal is not None  # `_idempotency_key` refused anonymous callers
                first = sent[0]
                digest = keys.request_digest(first.query, first.operation_name, first.variables)
                try:
                    outcome = await keys.begin(principal, key, digest)
                except keys.KeyRefused as conflict:
                    raise Refused(
                        conflict.status, conflict.code, [conflict.message], conflict.headers, conflict.extensions
                    ) from None
                if isinstance(outcome, keys.Replay):  # the first request's answer, nothing run
                    if form is not None:
                        await form.close()
                    await send_payload(send, outcome.status, outcome.body, [keys.REPLAYED])
                    return
                claim = outcome
        except Refused as refused:
            if form is not None:
                await form.close()
            if refused.status == 401:
                await send_unauthorized(send, AuthError(AuthReason.MISSING_CREDENTIALS))
                return
            body: dict[str, Any] = {
                "errors": [
                    {"message": m, "extensions": {"code": refused.code, **refused.extensions}} for m in refused.messages
                ]
            }
            if "cost" in refused.extensions:
                cost = refused.extensions["cost"]
                report = cost if isinstance(cost, dict) else self._uncharged(scope.get(PRINCIPAL), cost)
                body["extensions"] = {"cost": report}
            await send_json(send, refused.status, body, refused.headers)
            return
        context = Context(
            request_id=scope.get(REQUEST_ID, ""),
            principal=principal,
            settings=self.settings,
            loaders=make_loaders(),
            client_address=client_address(scope, self.settings.trusted_proxies),
            user_agent=header(scope, b"user-agent"),
            patients_read=scope.setdefault(PATIENTS_READ, {}),
        )
        try:
            with idempotency.recording(claim) if claim is not None else contextlib.nullcontext():
                work = asyncio.gather(*(self._run(p, req, context) for p, req in zip(prepared, requests, strict=True)))
                if all(p.operation.operation is OperationType.QUERY for p in prepared):
                    results = await _unless_client_leaves(work, receive)
                else:
                    results = await work  # a mutation that started runs to its end
        except _DatabaseUnreachable:
            if claim is not None:
                await _settle(claim, context.request_id, None)
            await send_unavailable(send, context.request_id, "graphql")
            return
        except BaseException:
            if claim is not None:
                await _settle(claim, context.request_id, None)
            raise
        finally:
            if form is not None:
                await form.close()
        if claim is not None and claim.lost and not claim.committed:
            # Its claim lapsed while it ran and another request took the key: its
            # transaction rolled back, nothing of it committed.
            refused_key = keys.in_use()
            body = error_body(refused_key.message, refused_key.code)
            await send_json(send, refused_key.status, body, refused_key.headers)
            return
        if results is None:
            log.info("query stopped: the client went away request_id=%s", context.request_id)
            # Nobody reads it; the API log records the request with nginx's "client closed" status.
            await send_json(send, 499, error_body("The client went away.", "CLIENT_CLOSED_REQUEST"))
            return
        report = charge.report()
        for result, p in zip(results, prepared, strict=True):
            result["extensions"] = {"cost": {**report, "requested": p.cost}}
        payload = orjson.dumps(results if batched else results[0])
        if claim is not None:
            await _settle(claim, context.request_id, payload)
        await send_payload(send, 200, payload)

    def _uncharged(self, principal: Principal | None, cost: int) -> dict[str, Any]:
        """`extensions.cost` of a document refused before it was charged (over the cost
        limit): what it asked for, and a consumer's budget per minute, untouched."""
        report = Charge(False, cost).report()
        if principal is not None and principal.kind is PrincipalKind.CONSUMER:
            budget = principal.cost_budget
            report["limit"] = budget if budget is not None else self.settings.consumer_cost_per_minute
        return report

    async def _charge(self, principal: Principal | None, cost: int) -> Charge:
        """An API consumer pays for the document from its budget per minute; others
        (sessions, the support account, anonymous mutations) are only told the cost."""
        if principal is None or principal.kind is not PrincipalKind.CONSUMER or principal.issuer is None:
            return Charge(True, cost)
        limit = principal.cost_budget if principal.cost_budget is not None else self.settings.consumer_cost_per_minute
        charge = await self.budgets.charge(principal.issuer, limit, cost)
        if not charge.allowed:
            raise Refused(
                429,
                "RATE_LIMITED",
                [
                    f"This request costs {cost}; {charge.remaining} of this consumer's {limit} per minute "
                    f"remain until {charge.report()['resetAt']}."
                ],
                [(b"retry-after", str(charge.retry_after()).encode())],
                {"cost": charge.report()},
            )
        return charge

    def _wants_ide(self, scope: Scope) -> bool:
        accept = header(scope, b"accept") or ""
        return self.settings.graphiql and "text/html" in accept and b"query=" not in scope.get("query_string", b"")

    async def _send_ide(self, send: Send) -> None:
        html, headers = graphiql_page()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*headers, (b"content-length", str(len(html)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": html})

    async def _read(self, scope: Scope) -> tuple[list[GraphQLRequest], list[GraphQLRequest], bool, Any]:
        """The requests to run, the requests as sent (they differ for an upload only),
        whether they came as a batch, and an upload's form."""
        if scope["method"] == "GET":
            params = {k: v[-1] for k, v in parse_qs(scope.get("query_string", b"").decode("latin-1")).items()}
            try:
                variables = orjson.loads(params["variables"]) if params.get("variables") else None
            except orjson.JSONDecodeError as exc:
                raise Refused(400, "BAD_REQUEST", ["`variables` is not valid JSON."]) from exc
            request = _request_from(
                {"query": params.get("query"), "variables": variables, "operationName": params.get("operationName")}
            )
            return [request], [request], False, None
        ctype = (header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if ctype == "multipart/form-data":
            request, sent, form = await _multipart_upload(scope)
            return [request], [sent], False, form
        try:
            data = orjson.loads(scope.get(BODY, b""))
        except orjson.JSONDecodeError as exc:
            raise Refused(400, "BAD_REQUEST", ["The body is not valid JSON."]) from exc
        if isinstance(data, list):
            if not data:
                raise Refused(400, "BAD_REQUEST", ["An empty batch."])
            requests = [_request_from(item) for item in data]
            return requests, requests, True, None
        requests = [_request_from(data)]
        return requests, requests, False, None

    def _check_anonymous(self, requests: list[GraphQLRequest], batched: bool) -> None:
        """Anonymous requests: a single mutation open to anonymous callers (`login`,
        `acceptInvitation`), nothing else."""
        if batched:
            raise Refused(401, "UNAUTHENTICATED", [])
        document = self.documents.parse(requests[0].query)
        if isinstance(document, Refused):
            raise Refused(401, "UNAUTHENTICATED", [])
        operation = _operation(document, requests[0].operation_name)
        if (
            operation is None
            or operation.operation is not OperationType.MUTATION
            or len(operation.selection_set.selections) != 1
            or not isinstance(operation.selection_set.selections[0], FieldNode)
            or operation.selection_set.selections[0].name.value not in self.public_mutations
        ):
            raise Refused(401, "UNAUTHENTICATED", [])

    def _prepare_all(self, requests: list[GraphQLRequest], batched: bool, method: str) -> list[Planned]:
        if method == "GET":
            document = self.documents.parse(requests[0].query)
            if not isinstance(document, Refused):
                operation = _operation(document, requests[0].operation_name)
                if operation is not None and operation.operation is not OperationType.QUERY:
                    raise Refused(405, "METHOD_NOT_ALLOWED", ["Mutations are sent with POST."], [(b"allow", b"POST")])
        if batched and len(requests) > self.settings.max_batch:
            raise Refused(400, "BAD_REQUEST", [f"At most {self.settings.max_batch} operations per batch."])
        planned = []
        settings = self.settings
        for request in requests:
            prepared = self.documents.prepare(request.query)
            if isinstance(prepared, Refused):
                raise prepared
            operation = _operation(prepared.document, request.operation_name)
            if operation is None:
                raise Refused(400, "BAD_REQUEST", ["Name the operation to run (`operationName`)."])
            if batched and operation.operation is not OperationType.QUERY:
                raise Refused(400, "BAD_REQUEST", ["Batches may hold queries only."])
            cost = prepared.measured.cost(
                request.operation_name, request.variables, settings.default_page_size, settings.max_page_size
            )
            planned.append(Planned(prepared.document, operation, cost, prepared.redaction))
        total = sum(p.cost for p in planned)
        if total > settings.max_nodes:
            raise Refused(
                400,
                "QUERY_TOO_COMPLEX",
                [f"The {'batch' if batched else 'query'} may return {total} objects; at most {settings.max_nodes}."],
                extensions={"cost": total, "limit": settings.max_nodes},
            )
        return planned

    async def _run(self, planned: Planned, request: GraphQLRequest, context: Context) -> dict[str, Any]:
        operation = planned.operation
        name = operation.name.value if operation.name else None
        with tracer.start_as_current_span("graphql.execute") as span:
            span.set_attribute("graphql.operation.name", name or "")
            span.set_attribute("graphql.operation.type", operation.operation.value)
            describe_principal(span, context.principal)
            result = execute(
                self.schema,
                planned.document,
                context=context,
                variables=request.variables,
                operation_name=request.operation_name,
            )
            if asyncio.iscoroutine(result) or asyncio.isfuture(result):
                result = await result
            assert isinstance(result, ExecutionResult)
            if result.errors and not commits_so_far() and any(_unreachable(e) for e in result.errors):
                span.set_attribute("chrgraph.outcome", "database_unreachable")
                raise _DatabaseUnreachable
            errors = [_public_error(e, context.request_id) for e in result.errors or []]
            span.set_attribute("chrgraph.outcome", "ok" if not errors else "errors")
        if errors:
            _log_forbidden(context, name, errors)
        body: dict[str, Any] = {"data": result.data}
        if errors:
            body["errors"] = errors
        return body


def _idempotency_key(scope: Scope, principal: Principal | None, batched: bool, prepared: list[Planned]) -> str | None:
    """The request's Idempotency-Key when it applies (one mutation of a known caller);
    None without one, or for queries, which it does not concern. 400 for a malformed key,
    or a key on a batch or an anonymous mutation."""
    try:
        key = keys.key_of(scope)
        if key is None:
            return None
        if not batched and prepared[0].operation.operation is not OperationType.MUTATION:
            return None
        keys.check_use(principal, batched)
    except keys.KeyRefused as refused:
        raise Refused(refused.status, refused.code, [refused.message]) from None
    return key


async def _settle(claim: Claim, request_id: str, payload: bytes | None) -> None:
    """After the request ran: a committed change keeps its answer (200, `payload`) for
    repeats; a request that changed nothing frees its key. A failure here never changes
    the answer (the change, if any, happened): an alarm in the application log, and a
    repeat is told IDEMPOTENCY_KEY_COMPLETED once the claim lapses. Without a payload (the
    request failed after its commit) the key stays committed, with no answer to replay."""
    try:
        if claim.committed:
            if payload is not None:
                await idempotency.store_answer(claim, 200, payload)
        elif not claim.lost:
            await idempotency.release(claim)
    except Exception:
        log.exception("ALARM idempotent answer not stored request_id=%s committed=%s", request_id, claim.committed)


# Queries that end sooner are never watched: a watcher is a task per request.
_WATCH_AFTER_SECONDS = 0.05


async def _unless_client_leaves(work: asyncio.Future, receive: Receive) -> list[dict[str, Any]] | None:
    """The queries' results, or None when the client disconnected first: the work is
    cancelled then (queries only: nobody would read the answer). The disconnect is
    watched for from 50 ms on."""
    watcher: asyncio.Future | None = None

    def watch() -> None:
        nonlocal watcher
        watcher = asyncio.ensure_future(_disconnected(receive))
        watcher.add_done_callback(lambda w: w.cancelled() or work.cancel())

    timer = asyncio.get_running_loop().call_later(_WATCH_AFTER_SECONDS, watch)
    try:
        return await work
    except asyncio.CancelledError:
        if watcher is not None and watcher.done() and not watcher.cancelled():
            return None  # the client went away; our own task was not cancelled
        raise
    finally:
        timer.cancel()
        if watcher is not None:
            watcher.cancel()


async def _disconnected(receive: Receive) -> None:
    # The body was read already (the guards); what comes next is the disconnect.
    while (await receive())["type"] != "http.disconnect":
        pass


def _operation_name(operation: OperationDefinitionNode, request: GraphQLRequest) -> str | None:
    return operation.name.value if operation.name else request.operation_name


def _log_forbidden(context: Context, operation: str | None, errors: list[dict[str, Any]]) -> None:
    """A session refused a field: one application-log line (user, operation, the refused
    fields' paths; never a value)."""
    principal = context.principal
    if principal is None or principal.kind not in (PrincipalKind.USER, PrincipalKind.SUPPORT):
        return
    paths = [e.get("path") for e in errors if e["extensions"]["code"] == "FORBIDDEN"]
    if paths:
        forbidden_answers.add(1, {"principal": principal.kind.value})
        log.warning(
            "forbidden user=%s operation=%s fields=%s request_id=%s",
            principal.user_public_id or "-",
            operation or "-",
            ",".join(".".join(str(p) for p in path) if path else "-" for path in paths[:10]),
            context.request_id,
        )


def _unreachable(error: GraphQLError) -> bool:
    return error.original_error is not None and database_unreachable(error.original_error)


# Extensions a typed error keeps besides its code: the precise `ErrorCode` of a refused
# query argument and the argument's name.
_DETAIL_KEYS = ("reason", "field")


def _public_error(error: GraphQLError, request_id: str) -> dict[str, Any]:
    """Typed errors keep their code; anything unexpected is masked. A field that failed
    because the database went away after the operation committed says so."""
    if _unreachable(error):
        log.warning("database unreachable after a commit request_id=%s path=%s", request_id, error.path)
        return {
            "message": f"The database could not be reached (request id {request_id}).",
            "path": error.path,
            "extensions": {"code": "SERVICE_UNAVAILABLE", "requestId": request_id},
        }
    original = error.original_error
    code = (error.extensions or {}).get("code")
    if code is None and isinstance(original, GraphQLError):
        code = (original.extensions or {}).get("code")
    if code is None and (original is None or isinstance(original, (GraphQLError, StrawberryInputCoercionError))):
        code = "BAD_USER_INPUT"  # variable, argument and global id coercion errors (graphql-core's own)
    if code is None:
        log.error("unexpected error request_id=%s path=%s", request_id, error.path, exc_info=original)
        return {
            "message": f"Internal server error (request id {request_id}).",
            "path": error.path,
            "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        }
    extensions: dict[str, Any] = {"code": code}
    for key in _DETAIL_KEYS:  # a typed refusal's precise code and argument (availableSlots)
        if (value := (error.extensions or {}).get(key)) is not None:
            extensions[key] = value
    body: dict[str, Any] = {"message": _SUGGESTION.sub("", error.message), "extensions": extensions}
    if error.path:
        body["path"] = error.path
    if error.locations:
        body["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    return body


_BATCH_SEPARATOR = "\n# ---\n"


def _log_view(requests: list[GraphQLRequest], batched: bool) -> tuple[Any, Any, Any]:
    if not batched:
        r = requests[0]
        return r.query, r.operation_name, r.variables
    return (
        _BATCH_SEPARATOR.join(r.query for r in requests),
        ",".join(r.operation_name or "" for r in requests) or None,
        {"batch": [r.variables for r in requests]},
    )


def _redaction(prepared: list[Planned], sent: list[GraphQLRequest], batched: bool) -> RequestRedaction:
    """What the API log redacts in this request: its documents' plans (cached with them),
    placed in the logged view `_log_view` makes."""
    plans = tuple(p.redaction for p in prepared)
    if not batched:
        return RequestRedaction(plans)
    return RequestRedaction(plans, tuple(len(r.query) for r in sent), _BATCH_SEPARATOR)
