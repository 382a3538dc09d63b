"""Security commands: `earshot user ...` (accounts and roles) and `earshot audit ...`."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from ..security.accounts import AccountStore
from ..security.roles import Role
from ..store.audit import audit, audit_entries, entry_as_dict, verify_audit
from ..store.case import Case
from ._base import EXIT_PROBLEMS, case_argument, cli, emit, err, json_option, out, settings_from_env
from ._terminal import safe, visible

__all__ = ["audit_group", "user"]


def _store() -> AccountStore:
    return AccountStore.from_settings(settings_from_env())


def _read_password(from_stdin: bool, prompt: str) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value: str = click.prompt(prompt, hide_input=True, confirmation_prompt=True, err=True)
    return value


def _end_sessions(username: str) -> bool | None:
    """End the user's web sessions on every server sharing a Redis session store.

    None with the in-memory store (another process holds those: restart the server);
    False, with a warning, when the shared store cannot be reached.
    """
    from ..errors import SessionStoreError
    from ..security.accounts import normalize_username
    from ..web.sessions import open_session_store

    settings = settings_from_env()
    if settings.session_store == "memory":
        return None
    try:
        store = open_session_store(settings.session_store, idle_timeout=60.0)
        try:
            store.drop_user(normalize_username(username))
        finally:
            store.close()
    except SessionStoreError as exc:
        err.print(f"warning: the user's web sessions were not ended: {safe(str(exc))}")
        return False
    return True


def _done(as_json: bool, data: dict[str, Any], message: str) -> None:
    if as_json:
        emit(data)
    else:
        out.print(safe(message))


password_stdin = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of prompting.",
)


@cli.group()
def user() -> None:
    """Manage user accounts (argon2id passwords) and their roles per case.

    Accounts belong to this installation (setting `accounts`), not to a case; a
    role (admin, editor, translator, viewer) is granted on one case at a time.
    """


@user.command("add")
@click.argument("username")
@click.option("--display-name", metavar="NAME", help="Name shown in the web app and audit log.")
@password_stdin
@json_option
def user_add(username: str, display_name: str | None, password_stdin: bool, as_json: bool) -> None:
    """Create an account; the password is prompted for twice unless --password-stdin."""
    store = _store()
    created = store.add_user(
        username, _read_password(password_stdin, "Password"), display_name=display_name
    )
    _done(
        as_json,
        {"username": created.username, "display_name": created.display_name, "id": created.id},
        f"Created user {created.username}",
    )


@user.command("passwd")
@click.argument("username")
@password_stdin
@json_option
def user_passwd(username: str, password_stdin: bool, as_json: bool) -> None:
    """Set a new password for USERNAME (also lifts the sign-in back-off of that user).

    With a shared (Redis) session store, the user's web sessions end everywhere.
    """
    store = _store()
    store.set_password(username, _read_password(password_stdin, "New password"))
    ended = _end_sessions(username)
    _done(
        as_json,
        {"username": username, "changed": True, "sessions_ended": ended},
        f"Password of {username} changed" + ("; web sessions ended" if ended else ""),
    )


@user.command("disable")
@click.argument("username")
@json_option
def user_disable(username: str, as_json: bool) -> None:
    """Disable an account: it can no longer sign in and loses its roles everywhere.

    With a shared (Redis) session store, the user's web sessions end everywhere.
    """
    _store().disable(username)
    ended = _end_sessions(username)
    _done(
        as_json,
        {"username": username, "disabled": True, "sessions_ended": ended},
        f"User {username} disabled" + ("; web sessions ended" if ended else ""),
    )


@user.command("unlock")
@click.argument("username", required=False)
@click.option(
    "--client",
    metavar="ADDR",
    help="Lift the back-off of this client address (every account) instead of a user's.",
)
@json_option
def user_unlock(username: str | None, client: str | None, as_json: bool) -> None:
    """Lift the sign-in back-off of USERNAME (from every address) or of --client ADDR.

    Back-off after failed sign-ins ends by itself (at most login_lockout_minutes per
    attempt); this ends it now, on every server sharing the accounts file or the Redis
    session store.
    """
    if (username is None) == (client is None):
        raise click.UsageError("name either a USERNAME or --client ADDR")
    store = _store()
    try:
        lifted = store.unlock(username=username, client=client)
    finally:
        store.close()
    target = {"username": username} if username is not None else {"client": client}
    what = f"user {username}" if username is not None else f"client {client}"
    _done(
        as_json,
        {**target, "counts_cleared": lifted},
        f"Sign-in back-off of {what} lifted ({lifted} count(s) cleared)",
    )


@user.command("grant")
@click.argument("username")
@case_argument
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    required=True,
    help="Role on this case: viewer reads; translator edits translations; editor edits, "
    "verifies, publishes and exports; admin also manages.",
)
@json_option
def user_grant(username: str, case: Path, role: str, as_json: bool) -> None:
    """Give USERNAME a role on CASE (replacing any role held there); audited in the case."""
    settings = settings_from_env()
    store = AccountStore.from_settings(settings)
    with Case.open(case, settings=settings) as opened:
        store.grant(username, opened.case_id, Role(role))
        with opened.session() as session:
            audit(
                session,
                user=settings.operator,
                action="grant",
                object_type="user",
                object_id=store.get(username).username,
                detail={"role": role},
            )
        case_id = opened.case_id
    _done(
        as_json,
        {"username": username, "case_id": case_id, "role": role},
        f"{username} is now {role} on case {case_id}",
    )


@user.command("revoke")
@click.argument("username")
@case_argument
@json_option
def user_revoke(username: str, case: Path, as_json: bool) -> None:
    """Remove USERNAME's role on CASE; audited in the case."""
    settings = settings_from_env()
    store = AccountStore.from_settings(settings)
    with Case.open(case, settings=settings) as opened:
        store.revoke(username, opened.case_id)
        with opened.session() as session:
            audit(
                session,
                user=settings.operator,
                action="revoke",
                object_type="user",
                object_id=store.get(username).username,
            )
        case_id = opened.case_id
    _done(
        as_json,
        {"username": username, "case_id": case_id, "role": None},
        f"{username} has no role on case {case_id} now",
    )


@user.command("list")
@json_option
def user_list(as_json: bool) -> None:
    """List accounts with their state and roles (case id: role)."""
    store = _store()
    rows: list[dict[str, Any]] = [
        {
            "username": u.username,
            "display_name": u.display_name,
            "disabled": u.disabled,
            "roles": {case_id: role.value for case_id, role in store.roles(u.username).items()},
        }
        for u in store.users()
    ]
    if as_json:
        emit(rows)
        return
    table = Table("user", "name", "state", "roles", title=f"{len(rows)} users")
    for row in rows:
        roles = ", ".join(f"{c[:12]}: {r}" for c, r in row["roles"].items())
        table.add_row(
            safe(row["username"]),
            safe(row["display_name"] or ""),
            "disabled" if row["disabled"] else "active",
            safe(roles),
        )
    out.print(table)


@user.group("token")
def token() -> None:
    """Personal API tokens: call /api without a browser (`Authorization: Bearer TOKEN`).

    A token acts with its user's roles (never more); it is shown once and kept only as
    a hash; revoke it when the program that uses it is retired.
    """


@token.command("create")
@click.argument("username")
@click.option("--name", required=True, help="What will use it (a script, a server...).")
@click.option(
    "--days", type=click.IntRange(1, 366), default=90, show_default=True, help="Valid for."
)
@click.option("--no-expiry", is_flag=True, help="Valid until revoked.")
@click.option("--read-only", is_flag=True, help="Cap every role at viewer: reads only.")
@json_option
def token_create(
    username: str, name: str, days: int, no_expiry: bool, read_only: bool, as_json: bool
) -> None:
    """Make a token for USERNAME and print it once (it cannot be shown again)."""
    store = _store()
    try:
        made = store.tokens.create(
            username, name, days=None if no_expiry else days, read_only=read_only
        )
    finally:
        store.close()
    if as_json:
        emit({**made.token.as_dict(), "token": made.secret})
        return
    err.print(
        f"Token #{made.token.id} for {safe(made.token.username)} ({safe(made.token.name)}); "
        "copy it now, it is not shown again:"
    )
    click.echo(made.secret)


@token.command("list")
@click.argument("username")
@json_option
def token_list(username: str, as_json: bool) -> None:
    """List USERNAME's tokens (name, first characters, expiry, last use; never the secret)."""
    store = _store()
    try:
        tokens = store.tokens.list(username)
        now = store.now()
    finally:
        store.close()
    if as_json:
        emit([{**t.as_dict(), "active": t.active(now)} for t in tokens])
        return
    table = Table(title=f"{len(tokens)} API tokens of {safe(username)}", title_justify="left")
    for column in ("id", "name", "starts with", "scope", "expires", "last used", "state"):
        table.add_column(column)
    for t in tokens:
        table.add_row(
            str(t.id),
            safe(t.name),
            t.hint + "…",
            "read only" if t.read_only else "user's roles",
            _when(t.expires_at) or "never",
            _when(t.last_used_at) or "never",
            "active" if t.active(now) else ("revoked" if t.revoked_at else "expired"),
        )
    out.print(table)


@token.command("revoke")
@click.argument("username")
@click.argument("token_id", type=int)
@json_option
def token_revoke(username: str, token_id: int, as_json: bool) -> None:
    """Revoke USERNAME's token TOKEN_ID; requests with it are refused from now on."""
    store = _store()
    try:
        revoked = store.tokens.revoke(username, token_id)
    finally:
        store.close()
    _done(as_json, revoked.as_dict(), f"Token #{revoked.id} ({revoked.name}) revoked.")


def _when(stamp: float | None) -> str:
    if stamp is None:
        return ""
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M")


class _AuditGroup(click.Group):
    """`earshot audit CASE` lists; `earshot audit verify CASE` verifies."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["list", *args]
        return super().parse_args(ctx, args)


@cli.group("audit", cls=_AuditGroup)
def audit_group() -> None:
    """The case's tamper-evident audit log: `earshot audit CASE` lists it.

    Every view of a call, playback, search, edit, verification decision and export
    is recorded with user and time; `earshot audit verify CASE` checks the chain.
    """


@audit_group.command("list")
@case_argument
@click.option("--limit", type=click.IntRange(1), help="Show only the newest N entries.")
@click.option("--user", "user_name", metavar="NAME", help="Only entries of this user.")
@click.option("--action", metavar="ACTION", help="Only this action (view_call, play, ...).")
@json_option
def audit_list(
    case: Path, limit: int | None, user_name: str | None, action: str | None, as_json: bool
) -> None:
    """List audit entries of CASE, oldest first (also `earshot audit CASE`)."""
    with Case.open(case, settings=settings_from_env()) as opened, opened.session() as session:
        rows = [
            entry_as_dict(e)
            for e in audit_entries(session, limit=limit, user=user_name, action=action)
        ]
    if as_json:
        emit(rows)
        return
    if not rows:
        out.print("The audit log is empty.")
    for row in rows:
        out.print(
            f"{row['id']:>6} {row['at'][:19]} {visible(row['user']):<14} {row['action']:<12} "
            f"{row['object_type']} {visible(str(row['object_id'] or ''))}",
            markup=False,
        )


@audit_group.command("verify")
@case_argument
@json_option
def audit_verify(case: Path, as_json: bool) -> None:
    """Check the audit chain and its anchor; exit 1 if an entry was altered, removed or moved."""
    with Case.open(case, settings=settings_from_env()) as opened, opened.session() as session:
        report = verify_audit(session)
    if as_json:
        emit(report.as_dict())
    else:
        for problem in report.problems:
            err.print(f"[red]AUDIT  {safe(problem)}[/]")
        if report.ok:
            out.print(
                f"OK: audit log of {report.entries} entries unbroken; head {report.head_hash}"
            )
        else:
            err.print(f"FAILED: {len(report.problems)} problem(s) in the audit log")
    if not report.ok:
        sys.exit(EXIT_PROBLEMS)


@audit_group.command("anchor")
@case_argument
@click.option(
    "--timestamp",
    "tsr",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    metavar="FILE",
    help="Also ask the time-stamp authority (setting tsa_url, or --tsa) to sign the "
    "statement; its RFC 3161 token is written to FILE (.tsr).",
)
@click.option("--tsa", metavar="URL", help="Time-stamp authority URL (default: setting tsa_url).")
@json_option
def audit_anchor(case: Path, tsr: Path | None, tsa: str | None, as_json: bool) -> None:
    """Print the heads of CASE's audit and custody logs, to be kept outside the case.

    The statement (RFC 8785 JSON: case id, time, each log's length and newest hash) lets
    you prove later that nothing before it was changed or removed, even by someone who
    could rewrite the database, the case directory and its anchors. Paste it somewhere
    they cannot reach. Exits 1, printing nothing to keep, if a log already fails to verify.
    """
    from ..security.timestamp import request_timestamp
    from ..store.anchoring import log_statement

    settings = settings_from_env()
    with Case.open(case, settings=settings) as opened, opened.session() as session:
        statement = log_statement(session)
    if not statement.ok:
        for problem in statement.problems:
            err.print(f"[red]LOG  {safe(problem)}[/]")
        err.print("FAILED: a log is broken; verify and investigate before anchoring it")
        sys.exit(EXIT_PROBLEMS)
    data: dict[str, Any] = {
        "statement": statement.as_dict(),
        "sha256": statement.digest().hex(),
    }
    url = tsa or settings.tsa_url
    if tsr is not None:
        if not url:
            raise click.UsageError("--timestamp needs a time-stamp authority: --tsa URL or tsa_url")
        reply = request_timestamp(url, statement.digest())
        tsr.write_bytes(reply.token)
        data["timestamp"] = reply.as_dict() | {"file": str(tsr), "tsa": url}
    if as_json:
        emit(data)
        return
    out.print(statement.canonical().decode("utf-8"), markup=False)
    err.print(f"SHA-256 of the statement: {data['sha256']}")
    if "timestamp" in data:
        err.print(f"RFC 3161 token ({data['timestamp']['status']}) written to {safe(str(tsr))}")


@audit_group.command("export")
@case_argument
@click.option(
    "--log",
    "log_name",
    type=click.Choice(["audit", "custody"]),
    default="audit",
    show_default=True,
    help="Which log to export.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file instead of standard output.",
)
@json_option
def audit_export(case: Path, log_name: str, output: Path | None, as_json: bool) -> None:
    """Export a log of CASE as JSON Lines for `scripts/verify_chain.py`.

    One entry per line: the content its hash covers, prev_hash, entry_hash and
    entry_mac, so the chain can be re-verified without Earshot. With --json: one JSON
    array on standard output, or with --output a summary (log, entries, file).
    """
    import json

    from ..store.anchoring import LogName, export_log

    with Case.open(case, settings=settings_from_env()) as opened, opened.session() as session:
        rows = list(export_log(session, LogName(log_name)))
    lines = [json.dumps(row) + "\n" for row in rows]  # ASCII: safe for any line splitter
    if output is None and as_json:
        emit(rows)
    elif output is None:
        sys.stdout.write("".join(lines))
    else:
        tmp = output.with_name(output.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.writelines(lines)
        os.replace(tmp, output)
        if as_json:
            emit({"log": log_name, "entries": len(lines), "file": str(output)})
        else:
            err.print(f"{len(lines)} {log_name} entries written to {safe(str(output))}")
