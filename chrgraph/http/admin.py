"""The internal admin web client at /admin and the GraphiQL page of `GET /graphql`: static
files that `make admin` builds from `admin/` into `static/admin/` (shipped in the Python
package). Client routes fall back to index.html; before anything is built, a one-line page
says how to build it. Nothing here is fetched from the internet."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

STATIC_DIR = Path(__file__).parent / "static" / "admin"
ADMIN_PATH = "/admin"

# The page may load only what its own origin serves, and no other site may frame it.
ADMIN_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
# GraphiQL's editor (Monaco) adds its style sheets to the page at run time, which a strict
# policy blocks: its pages (the schema explorer, `GET /graphql`) also allow inline styles.
# Its style sheets carry their fonts as data: URLs. Scripts, connections and images stay
# the server's own.
GRAPHIQL_HEADERS = {
    **ADMIN_HEADERS,
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self' data:; frame-ancestors 'none'"
    ),
}
EXPLORER_ROUTE = "schema"

# Hashed file names never change content: a year in caches. Pages are always revalidated.
_ASSET_CACHE = "public, max-age=31536000, immutable"
_PAGE_CACHE = "no-cache"

NOT_BUILT = (
    "<!doctype html><html lang=en><title>chrgraph admin</title>"
    "<p>The admin client and GraphiQL are not built yet: run <code>make admin</code>.</p></html>"
)


def _page(name: str, policy: dict[str, str]) -> Response:
    page = STATIC_DIR / name
    headers = {**policy, "Cache-Control": _PAGE_CACHE}
    if not page.is_file():
        return HTMLResponse(NOT_BUILT, headers=headers)
    return FileResponse(page, media_type="text/html; charset=utf-8", headers=headers)


def graphiql_page() -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The bundled GraphiQL page for `GET /graphql` (the one-line page when not built)."""
    page = STATIC_DIR / "graphiql.html"
    body = page.read_bytes() if page.is_file() else NOT_BUILT.encode()
    headers = [(name.lower().encode(), value.encode()) for name, value in GRAPHIQL_HEADERS.items()]
    return body, [(b"content-type", b"text/html; charset=utf-8"), *headers]


async def admin(request: Request) -> Response:
    """A built file when the path names one, else the client's index.html (its router
    then shows the screen). Paths that try to leave the folder are not found."""
    rest = request.path_params.get("rest", "")
    if rest:
        root = STATIC_DIR.resolve()
        target = (root / rest).resolve()
        # The two pages are answered by their routes only, each with its own policy.
        if target.is_relative_to(root) and target.is_file() and target.name not in ("index.html", "graphiql.html"):
            cache = _ASSET_CACHE if target.parent.name == "assets" else _PAGE_CACHE
            return FileResponse(target, headers={**ADMIN_HEADERS, "Cache-Control": cache})
        if rest.startswith("assets/"):
            return Response("Not found.", status_code=404, media_type="text/plain", headers=ADMIN_HEADERS)
    return _page("index.html", GRAPHIQL_HEADERS if rest.strip("/") == EXPLORER_ROUTE else ADMIN_HEADERS)


admin_routes = [
    Route(ADMIN_PATH, admin, methods=["GET", "HEAD"]),
    Route(ADMIN_PATH + "/{rest:path}", admin, methods=["GET", "HEAD"]),
]
