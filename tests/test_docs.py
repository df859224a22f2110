"""The guides are run, so they cannot rot: every shell block (```sh) and GraphQL document
(```graphql) of the README and of every Markdown file in `docs/` runs against a real
server (`chrgraph serve` on a free port of 127.0.0.1, in a fresh folder holding a new
SQLite database with the demo organization), as a reader would follow the guide.

How a guide is run (the convention, also in docs/README.md):

- Each Markdown file is one terminal session: its runnable blocks run in order in one
  bash process (`set -eu`) in a fresh folder (where `.venv` is this environment), so a
  variable a block sets (`TOKEN=$(…)`) or a file it writes (`vendor.pem`) is there for
  the blocks after it. Files do not
  share variables; they share the server and its database, so two guides never create
  the same consumer issuer or user email.
- ```sh (or bash, shell) blocks run as written. `http://127.0.0.1:8000` and
  `http://localhost:8000` are rewritten to the test server's address. `chrgraph` is the
  one of this checkout.
- ```graphql blocks are POSTed to /graphql with `Authorization: Bearer $TOKEN`.
  `<!-- as: SESSION -->` before the block names another shell variable holding the
  bearer, `<!-- as: nobody -->` sends none, and `<!-- variables: {"id": "$PATIENT_ID"} -->`
  gives the operation's variables (shell variables in it are expanded).
- Every HTTP answer a block receives through curl must be the expected status (200
  unless `<!-- expect: 401 -->` or another status precedes the block) and, when it is
  GraphQL, hold no `errors` at the top level or in a mutation's payload (unless
  `<!-- expect: errors -->`).
- `<!-- not run: why -->` before a block skips it (e.g. it needs an OTLP collector, a
  PostgreSQL server or starts a server of its own). A block in any other language is
  an illustration and never runs; one that holds a `chrgraph` or `curl` command must be
  sh or be marked not run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.processes import BIN, CHRGRAPH, ROOT, free_port, run_process

pytestmark = [pytest.mark.docs, pytest.mark.slow]

SHELL = {"sh", "bash", "shell"}
DEFAULT_PORT = re.compile(r"https?://(?:127\.0\.0\.1|localhost):8000")
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`\n]*)$")
DIRECTIVE = re.compile(r"<!--\s*(?P<name>not run|as|variables|expect)\s*:\s*(?P<value>.*?)\s*-->", re.S)
COMMAND = re.compile(r"^\s*(?:\$\s*)?(?:chrgraph|curl)\s", re.M)


def guides() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


@dataclass
class Block:
    path: Path
    line: int  # where the fence opens, 1-based
    language: str
    text: str
    directives: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def runs(self) -> bool:
        return self.language in SHELL | {"graphql"} and "not run" not in self.directives


def blocks_of(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file, each with the HTML-comment directives
    written just before it (only blank lines and comments in between)."""
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    n = 0
    while n < len(lines):
        opening = FENCE.match(lines[n])
        if not opening:
            n += 1
            continue
        fence, info = opening["fence"], opening["info"].strip()
        body: list[str] = []
        end = n + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            body.append(lines[end])
            end += 1
        before: list[str] = []
        back = n - 1
        while back >= 0 and (
            not lines[back].strip() or lines[back].strip().startswith("<!--") or before_open(lines, back)
        ):
            before.insert(0, lines[back])
            back -= 1
        directives = {m["name"]: m["value"] for m in DIRECTIVE.finditer("\n".join(before))}
        language = info.split()[0].lower() if info else ""
        blocks.append(Block(path, n + 1, language, "\n".join(body), directives))
        n = end + 1
    return blocks


def before_open(lines: list[str], index: int) -> bool:
    """A line inside a multi-line HTML comment that ends right before a block."""
    line = lines[index].strip()
    return line.endswith("-->") and "<!--" not in line


# --- turning a guide into one shell session ---------------------------------------------

PREAMBLE = r"""
set -eu
# Every curl answer is recorded (status and body) for the harness to check after the run.
# (A pipeline runs the function in a subshell: each call names its own record.)
curl() {
  local __n __status
  __n=$(mktemp "$DOCS_RECORDS/$DOCS_BLOCK.XXXXXXXX")
  __status=$(command curl -sS -o "$__n.body" -w '%{http_code}' "$@")
  printf '%s' "$__status" > "$__n.status"
  cat "$__n.body"
}
"""

GRAPHQL_STEP = r"""
__docs_body=$("$DOCS_PYTHON" -c "$DOCS_BODY" {document} "$(cat <<__DOCS_VARIABLES__
{variables}
__DOCS_VARIABLES__
)")
curl -s "$DOCS_URL/graphql" {authorization} -H 'content-type: application/json' --data-binary "$__docs_body"
echo
"""


# Builds a GraphQL request body from a document file and the variables' JSON.
BODY = 'import json, sys; print(json.dumps({"query": open(sys.argv[1]).read(), "variables": json.loads(sys.argv[2])}))'


def session_script(blocks: list[Block], folder: Path) -> str:
    steps = [PREAMBLE]
    for index, block in enumerate(blocks):
        if not block.runs:
            continue
        steps.append(f"DOCS_BLOCK={index}\necho '@@ block {index} ({block.where})' >&2")
        if block.language == "graphql":
            document = folder / f"block-{index}.graphql"
            document.write_text(block.text)
            bearer = block.directives.get("as", "TOKEN")
            authorization = "" if bearer == "nobody" else f'-H "Authorization: Bearer ${{{bearer}}}"'
            steps.append(
                GRAPHQL_STEP.replace("{document}", str(document))
                .replace("{variables}", block.directives.get("variables", "{}"))
                .replace("{authorization}", authorization)
            )
        else:
            steps.append(DEFAULT_PORT.sub("$DOCS_URL", block.text))
    return "\n".join(steps) + "\n"


def answer_problems(blocks: list[Block], records: Path) -> list[str]:
    """What the recorded curl answers say against each block's expectations."""
    problems = []
    for status_file in sorted(records.glob("*.status")):
        index = int(status_file.name.split(".")[0])
        block = blocks[index]
        status = status_file.read_text()
        body = status_file.with_suffix(".body").read_text(errors="replace")
        expected = block.directives.get("expect", "200")
        wanted_status = expected if expected.isdigit() else "200"
        if status != wanted_status:
            problems.append(f"{block.where}: HTTP {status}, expected {wanted_status}: {body[:300]}")
            continue
        if wanted_status != "200" or expected == "errors":
            continue
        with contextlib.suppress(ValueError):
            answer = json.loads(body)
            problems += [f"{block.where}: {p}" for p in graphql_errors(answer)]
    return problems


def graphql_errors(answer: object) -> list[str]:
    answers = answer if isinstance(answer, list) else [answer]
    found = []
    for one in answers:
        if not isinstance(one, dict):
            continue
        if one.get("errors"):
            found.append(f"errors: {json.dumps(one['errors'])[:300]}")
        for name, value in (one.get("data") or {}).items():
            if isinstance(value, dict) and value.get("errors"):
                found.append(f"{name}.errors: {json.dumps(value['errors'])[:300]}")
    return found


# --- the server ---------------------------------------------------------------------------


def clean_environment(folder: Path) -> dict[str, str]:
    """A reader's environment: no CHRGRAPH_ settings of the test session (the database
    and key files are the defaults, in the folder), this checkout's `chrgraph` first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHRGRAPH_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["HOME"] = str(folder)
    return env


@dataclass(frozen=True)
class DocsServer:
    url: str
    folder: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
async def docs_server() -> AsyncIterator[DocsServer]:
    folder = Path(tempfile.mkdtemp(prefix="chrgraph-docs-"))
    env = clean_environment(folder)
    # As the README's tour asks of `make serve`: its webhook receiver runs on this machine.
    env["CHRGRAPH_WEBHOOK_ALLOWED_HOSTS"] = "127.0.0.1"
    for command in (("migrate",), ("demo",)):
        done = await run_process(CHRGRAPH, *command, env=env, cwd=folder, time_limit=180)
        assert done.returncode == 0, done.stderr
    port = free_port()
    log = (folder / "server.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        CHRGRAPH,
        "serve",
        "--port",
        str(port),
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
        cwd=folder,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await _wait_until_healthy(url, process, folder / "server.log")
        yield DocsServer(url, folder, env)
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


async def _wait_until_healthy(url: str, process: asyncio.subprocess.Process, log: Path) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=2) as client:
        for _ in range(1200):
            if process.returncode is not None:
                raise AssertionError(f"the server exited early:\n{_text(log)}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.05)
    raise AssertionError(f"the server did not start:\n{_text(log)}")


def _text(path: Path) -> str:
    return path.read_text(errors="replace")


# --- the tests ----------------------------------------------------------------------------


def test_every_command_in_the_guides_is_run_or_marked_not_run():
    unmarked = [
        block.where
        for path in guides()
        for block in blocks_of(path)
        if block.language not in SHELL | {"graphql"}
        and COMMAND.search(block.text)
        and "not run" not in block.directives
    ]

    assert unmarked == [], f"chrgraph or curl commands in blocks the harness does not run (make them sh): {unmarked}"


def test_the_harness_reads_blocks_and_their_directives(tmp_path):
    guide = tmp_path / "guide.md"
    guide.write_text(
        "Intro.\n\n<!-- not run: needs an OTLP collector -->\n```sh\nchrgraph serve\n```\n\n"
        '<!-- as: SESSION -->\n<!-- variables: {"id": "$ID"} -->\n\n```graphql\n{ viewer { kind } }\n```\n\n'
        '```json\n{"a": 1}\n```\n'
    )

    blocks = blocks_of(guide)

    assert [(b.language, b.runs) for b in blocks] == [("sh", False), ("graphql", True), ("json", False)]
    assert blocks[0].directives == {"not run": "needs an OTLP collector"}
    assert blocks[1].directives == {"as": "SESSION", "variables": '{"id": "$ID"}'}


@pytest.mark.parametrize("path", guides(), ids=lambda p: str(p.relative_to(ROOT)))
async def test_the_guide_runs_as_written(docs_server, path, tmp_path):
    blocks = blocks_of(path)
    if not any(block.runs for block in blocks):
        pytest.skip("nothing to run")
    session = tmp_path / "session"
    records = tmp_path / "answers"
    session.mkdir()
    records.mkdir()
    (session / ".venv").symlink_to(BIN.parent)  # `. .venv/bin/activate`, as in a checkout
    script = tmp_path / "session.sh"
    script.write_text(session_script(blocks, tmp_path))
    env = dict(docs_server.env)
    env.update(DOCS_URL=docs_server.url, DOCS_RECORDS=str(records), DOCS_PYTHON=sys.executable, DOCS_BODY=BODY)
    # The database and key files are the server's (the defaults, in its folder).
    env["CHRGRAPH_DATABASE_URL"] = f"sqlite://{docs_server.folder / 'chrgraph.db'}"

    done = await run_process("bash", str(script), env=env, cwd=session, time_limit=300)

    ran = re.findall(r"@@ block \d+ \((.*)\)", done.stderr)
    assert done.returncode == 0, (
        f"the block at {ran[-1] if ran else '?'} failed (exit {done.returncode}):\n"
        f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
    )
    problems = answer_problems(blocks, records)
    assert problems == [], "\n".join(problems)
