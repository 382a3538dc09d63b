"""Web commands: `earshot serve` (the workbench in the browser) and `earshot demo`."""

from __future__ import annotations

import secrets
import shutil
from importlib.resources import as_file, files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import ConfigError
from ..ingest.runner import IngestOptions, ingest
from ..settings import Settings
from ..store.case import Case
from ._base import IngestBar, cli, emit, err, json_option, out, progress_bar, settings_from_env
from ._terminal import safe

if TYPE_CHECKING:
    from ..web.sessions import SessionStore

DEMO_USER = "demo"
DEMO_IDLE_MINUTES = 30.0


def _accounts(settings: Settings, path: Path | None) -> Any:
    from ..security.accounts import AccountStore

    # from_settings: with a Redis session store the sign-in throttle is shared there too.
    return AccountStore.from_settings(settings, path)


def _serve(
    cases: list[Case],
    accounts: Any,
    host: str,
    port: int,
    secure: bool,
    idle_minutes: float,
    policy: Path | None = None,
    *,
    sessions: SessionStore | None = None,
    settings: Settings | None = None,
) -> None:
    """Run the server until interrupted; `sessions` is an open store (None: memory)."""
    import uvicorn

    from ..web.app import create_app
    from ..web.context import WebOptions
    from ..web.proxies import ProxyTrust

    settings = settings or settings_from_env()
    app = create_app(
        cases,
        accounts,
        WebOptions(
            idle_timeout_s=idle_minutes * 60.0,
            secure_cookies=secure,
            redaction_policy=policy,
            public_origins=public_origins(settings.public_origin, host, port),
            proxies=ProxyTrust.parse(settings.trusted_proxies, settings.forwarded_header),
        ),
        sessions,
    )
    uvicorn.run(
        app, host=host, port=port, log_level="warning", server_header=False, proxy_headers=False
    )


LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def public_origins(configured: str, host: str, port: int) -> tuple[str, ...]:
    """Origins whose state changes are accepted: the `public_origin` setting (comma-
    separated), else the address served on when it is this machine's loopback.

    Served on another address, the origin browsers use (a proxy's https name) cannot be
    guessed, and the request's Host header must not decide it: the setting is required.
    """
    if configured.strip():
        return tuple(o.strip().rstrip("/").lower() for o in configured.split(",") if o.strip())
    if host not in LOOPBACK:
        raise ConfigError(
            f"serving on {host}: set public_origin (EARSHOT_PUBLIC_ORIGIN) to the address "
            "browsers open, e.g. https://earshot.example.org"
        )
    return (f"http://127.0.0.1:{port}", f"http://localhost:{port}", f"http://[::1]:{port}")


_HOST = click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; keep 127.0.0.1 unless behind a TLS proxy.",
)
_PORT = click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8000,
    show_default=True,
    help="Port to listen on.",
)
_SECURE = click.option(
    "--secure-cookies",
    is_flag=True,
    help="Mark cookies Secure (set this when served over HTTPS via a proxy).",
)
_IDLE = click.option(
    "--idle-minutes",
    type=click.FloatRange(1, 24 * 60),
    default=30.0,
    show_default=True,
    help="Log a browser out after this long without use.",
)


@cli.command()
@click.argument(
    "cases",
    nargs=-1,
    required=True,
    metavar="CASE...",
    type=click.Path(file_okay=False, path_type=Path),
)
@_HOST
@_PORT
@_SECURE
@_IDLE
@click.option(
    "--accounts",
    "accounts_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Accounts database (default: the `accounts` setting).",
)
@click.option(
    "--policy",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Redaction policy YAML for exports, quote sheets and clips made in the browser "
    "(default: the shipped policy).",
)
@click.option(
    "--session-store",
    metavar="memory|URL",
    help="Where login sessions live: 'memory' (this process; a restart logs everyone out) or "
    "a redis://, rediss:// or unix:// URL shared by several servers; may be env:VAR "
    "(default: the session_store setting, EARSHOT_SESSION_STORE).",
)
@json_option
def serve(
    cases: tuple[Path, ...],
    host: str,
    port: int,
    secure_cookies: bool,
    idle_minutes: float,
    accounts_path: Path | None,
    policy: Path | None,
    session_store: str | None,
    as_json: bool,
) -> None:
    """Serve one or more cases in the browser (log in with an account from `earshot user`)."""
    settings = settings_from_env().merged({"session_store": session_store}, "--session-store")
    sessions = _open_sessions(settings, idle_minutes)  # first: a bad store fails before all else
    opened: list[Case] = []
    try:
        from ..web.proxies import ProxyTrust

        public_origins(settings.public_origin, host, port)  # bad settings fail before all else
        ProxyTrust.parse(settings.trusted_proxies, settings.forwarded_header)
        opened = [Case.open(path, settings=settings) for path in cases]
        accounts = _accounts(settings, accounts_path)
        url = f"http://{host}:{port}/"
        info = {"url": url, "cases": [{"id": c.case_id, "path": str(c.path)} for c in opened]}
        if as_json:
            emit(info)
        else:
            out.print(f"Earshot is serving {len(opened)} case(s) at [bold]{safe(url)}[/]")
        _serve(
            opened,
            accounts,
            host,
            port,
            secure_cookies,
            idle_minutes,
            policy,
            sessions=sessions,
            settings=settings,
        )
    finally:
        for case in opened:
            case.close()
        sessions.close()


def _open_sessions(settings: Settings, idle_minutes: float) -> SessionStore:
    """The login session store the settings name, checked (Redis pinged) before serving.

    An unknown, malformed or unreachable store raises SessionStoreError, which the
    command group shows as its usual one-line error.
    """
    from ..web.sessions import open_session_store

    return open_session_store(settings.session_store, idle_minutes * 60.0)


def build_demo(case_dir: Path, *, process_stages: bool) -> dict[str, Any]:
    """Create or refresh the demo case: ingest, offline stages, analysis, reference drafts."""
    settings = settings_from_env()
    sample = files("earshot") / "data" / "sample"
    report: dict[str, Any] = {"case": str(case_dir)}
    with as_file(sample) as sample_dir:
        if not (case_dir / "earshot.toml").exists():
            # One demo account does every step, so the demo case lets one person review
            # and approve (four eyes stay on by default for real cases).
            Case.init(
                case_dir, settings=settings, case_settings={"translation_four_eyes": False}
            ).close()
        inbox = _sample_inbox(sample_dir, case_dir / "sample-inbox")
        with Case.open(case_dir, settings=settings) as case:
            with progress_bar("ingest") as bar:
                ingested = ingest(
                    case,
                    [inbox],
                    IngestOptions(
                        source="Earshot sample corpus (fictional)",
                        metadata=sample_dir / "calls.csv",
                    ),
                    IngestBar(bar),
                )
            report["case_id"] = case.case_id
            report["ingest"] = ingested.as_dict()["counts"]
            report["steps"] = _offline_steps(case, process_stages, settings.operator)
    return report


def _sample_inbox(sample_dir: Path, inbox: Path) -> Path:
    """The sample calls with their reference translations beside them (as ingest wants)."""
    if not inbox.is_dir():
        staging = inbox.with_name(inbox.name + ".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(sample_dir / "calls", staging)
        for reference in (sample_dir / "translations").iterdir():
            shutil.copy(reference, staging / reference.name)
        staging.rename(inbox)
    return inbox


def _offline_steps(case: Case, process_stages: bool, operator: str) -> dict[str, Any]:
    """Every offline step (every layer ships in the package)."""
    from ..language.analysis import analyze_case
    from ..language.translation.workflow import draft_from_reference
    from ..pipeline.runner import ProcessOptions, process

    steps: dict[str, Any] = {}
    if process_stages:
        done = process(case, ProcessOptions(workers=1))
        steps["process"] = done.as_dict()["counts"]
    steps["analysis"] = {"calls": analyze_case(case).calls}
    with case.session() as session:
        drafted = draft_from_reference(session, actor=operator)
    steps["translations"] = {"calls": len(drafted.calls)}
    return steps


@cli.command()
@click.option(
    "--case",
    "case_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-case"),
    show_default=True,
    help="Where to build the demo case.",
)
@click.option("--no-serve", is_flag=True, help="Build the demo case and account, then exit.")
@click.option(
    "--no-process",
    is_flag=True,
    help="Skip the speech pipeline (faster; sidecar transcripts are still analysed).",
)
@_HOST
@_PORT
@json_option
def demo(
    case_dir: Path, no_serve: bool, no_process: bool, host: str, port: int, as_json: bool
) -> None:
    """Build a demo case from the bundled fictional sample corpus and serve it.

    Every offline processing step that is installed is run, a `demo` account with the
    editor role is created in an accounts database inside the demo directory (a new
    random password is printed each run), and the workbench is served on HOST:PORT.
    """
    settings = settings_from_env()
    # Checked before the (long) build, so a bad EARSHOT_SESSION_STORE fails at once.
    sessions = None if no_serve else _open_sessions(settings, DEMO_IDLE_MINUTES)
    try:
        _demo(case_dir, no_serve, no_process, host, port, as_json, settings, sessions)
    finally:
        if sessions is not None:
            sessions.close()


def _demo(
    case_dir: Path,
    no_serve: bool,
    no_process: bool,
    host: str,
    port: int,
    as_json: bool,
    settings: Settings,
    sessions: SessionStore | None,
) -> None:
    report = build_demo(case_dir, process_stages=not no_process)
    from ..security.roles import Role

    accounts = _accounts(settings, case_dir / "demo-accounts.db")
    password = secrets.token_urlsafe(12)
    known = {u.username for u in accounts.users()}
    if DEMO_USER in known:
        accounts.set_password(DEMO_USER, password)
    else:
        accounts.add_user(DEMO_USER, password, display_name="Demo reporter")
    accounts.grant(DEMO_USER, report["case_id"], Role.EDITOR)
    url = f"http://{host}:{port}/"
    report.update(
        {
            "url": url,
            "username": DEMO_USER,
            "password": password,
            "accounts": str(case_dir / "demo-accounts.db"),
        }
    )
    if as_json:
        emit(report)
    else:
        for step, result in report["steps"].items():
            err.print(f"{safe(step)}: {safe(str(result))}")
        out.print(f"\nDemo case: {safe(str(case_dir))}")
        out.print(
            f"Open [bold]{safe(url)}[/] and log in as [bold]{DEMO_USER}[/] "
            f"with password [bold]{safe(password)}[/] (demo only; new each run)."
        )
    if no_serve:
        return
    if host not in {"127.0.0.1", "localhost", "::1"}:
        raise ConfigError("the demo serves only on this machine; use --host 127.0.0.1")
    with Case.open(case_dir, settings=settings) as case:
        _serve(
            [case],
            accounts,
            host,
            port,
            False,
            DEMO_IDLE_MINUTES,
            sessions=sessions,
            settings=settings,
        )
