"""Every setting declared once: name, default, help, and its ``EARSHOT_`` override.

Precedence, lowest first: the declared default, the case's ``earshot.toml``, the
environment (``EARSHOT_<NAME>``), then an explicit command-line option. Secrets are
never stored in the case: a setting may hold ``env:VARNAME`` and is resolved from the
environment when used, so a case directory can be handed over without credentials.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .errors import ConfigError

__all__ = ["SETTINGS", "Setting", "Settings", "resolve_secret"]


@dataclass(frozen=True)
class Setting:
    """Declaration of one setting."""

    name: str
    default: Any
    help: str
    kind: type = str

    @property
    def env(self) -> str:
        return "EARSHOT_" + self.name.upper()


def _default_operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return "unknown"


@dataclass(frozen=True)
class Settings:
    """Effective settings of one run (case config + environment + options)."""

    db: str = field(
        default="",
        metadata={"help": "Database URL; empty means the case's own SQLite file. May be env:VAR."},
    )
    region: str = field(
        default="RU",
        metadata={"help": "Default region for phone numbers written without a country code."},
    )
    timezone: str = field(
        default="UTC",
        metadata={"help": "Time zone of call-record times written without one (IANA name)."},
    )
    operator: str = field(
        default_factory=_default_operator,
        metadata={"help": "Who is running the command; recorded in the chain of custody."},
    )
    workers: int = field(
        default=2, metadata={"help": "Parallel decode workers for ingest and processing."}
    )
    max_file_bytes: int = field(
        default=4 * 1024**3, metadata={"help": "Largest single input file accepted (bytes)."}
    )
    max_audio_seconds: float = field(
        default=6 * 3600.0, metadata={"help": "Longest recording accepted (seconds)."}
    )
    zip_max_total_bytes: int = field(
        default=20 * 1024**3,
        metadata={"help": "Largest total uncompressed size of one zip archive (bytes)."},
    )
    zip_max_ratio: float = field(
        default=200.0,
        metadata={"help": "Largest compression ratio of a zip member before it counts as a bomb."},
    )
    accounts: str = field(
        default="~/.local/share/earshot/accounts.db",
        metadata={
            "help": "SQLite file of user accounts and their roles per case (one per install)."
        },
    )
    password_min_length: int = field(
        default=12, metadata={"help": "Shortest password accepted for an account."}
    )
    login_max_failures: int = field(
        default=5,
        metadata={
            "help": "Failed sign-ins of one account from one address before exponential "
            "back-off (4x that for one account from unknown addresses)."
        },
    )
    login_lockout_minutes: float = field(
        default=15.0, metadata={"help": "The longest back-off after failed sign-ins (minutes)."}
    )
    key_file: str = field(
        default="",
        metadata={
            "help": "Key file of an encrypted case (32 random bytes, raw or hex); "
            "else EARSHOT_PASSPHRASE is used."
        },
    )
    translation_four_eyes: bool = field(
        default=True,
        metadata={
            "help": "A translation is reviewed by someone other than its translator and "
            "approved by someone other than its reviewer."
        },
    )
    translation_rewrite_threshold: float = field(
        default=0.5,
        metadata={
            "help": "A reviewer's correction that changes more than this share of a translation "
            "(normalised edit distance, 0-1) makes the reviewer its translator: it goes back "
            "to edited and needs someone else's review."
        },
    )
    models_dir: str = field(
        default="~/.local/share/earshot/models",
        metadata={
            "help": "Folder of installed speech models (one subfolder per model, see "
            "`earshot models list`); `--asr MODEL` and the default engine look here."
        },
    )
    models_hub_url: str = field(
        default="https://huggingface.co",
        metadata={
            "help": "Base URL `earshot models fetch` downloads from (BASE/REPO/resolve/main/FILE); "
            "point it at a mirror if the hub is blocked."
        },
    )
    voiceprint_engine: str = field(
        default="resemblyzer",
        metadata={
            "help": "Speaker-embedding engine of the case: 'resemblyzer' (weights in its wheel) "
            "or 'onnx:/path/to/model.onnx' (a WeSpeaker / ReDimNet / CAM++ ONNX export)."
        },
    )
    session_store: str = field(
        default="memory",
        metadata={
            "help": "Where web login sessions live: 'memory' (one server process; a restart "
            "logs everyone out) or a Redis URL shared by several servers. May be env:VAR."
        },
    )
    chain_key_file: str = field(
        default="",
        metadata={
            "help": "File holding the key that seals custody and audit log entries (HMAC); "
            "empty means chain.key in the case directory, a relative path is taken from it. "
            "Kept with the case's settings."
        },
    )
    tsa_url: str = field(
        default="",
        metadata={
            "help": "RFC 3161 time-stamp authority that `earshot audit anchor --timestamp` "
            "asks to sign the logs' heads (an http(s) URL); empty: none."
        },
    )
    trusted_proxies: str = field(
        default="",
        metadata={
            "help": "Reverse proxies whose forwarded-client header is believed "
            "(comma-separated addresses or networks, e.g. 127.0.0.1); empty: none."
        },
    )
    forwarded_header: str = field(
        default="x-forwarded-for",
        metadata={
            "help": "The header those proxies write: x-forwarded-for or forwarded (RFC 7239)."
        },
    )
    public_origin: str = field(
        default="",
        metadata={
            "help": "The origin browsers use for the workbench (e.g. https://earshot.example); "
            "state changes from any other Origin are refused. Empty: the address served on."
        },
    )

    upload_max_bytes: int = field(
        default=2 * 1024**3,
        metadata={
            "help": "Largest single file the browser may upload (bytes); larger uploads are "
            "refused with 413 while they stream, before the limit is passed on disk."
        },
    )
    intake_stages: str = field(
        default="",
        metadata={
            "help": "Processing stages a browser intake runs after its ingest (comma-separated, "
            "e.g. decode,vad); empty: every registered stage; 'none': ingest only."
        },
    )
    process_backend: str = field(
        default="local",
        metadata={
            "help": "Where background processing jobs run their stages: 'local' (the job's "
            "worker process) or 'ray' (the Ray cluster, see docs/pipeline)."
        },
    )
    jobs_queue: str = field(
        default="local",
        metadata={
            "help": "Who runs the browser's background jobs: 'local' (a worker process of "
            "the server) or an rq queue on Redis: 'rq' (the session_store's Redis) or an "
            "rq+redis:// URL; run `rq worker earshot` next to the servers. May be env:VAR."
        },
    )

    @classmethod
    def declared(cls) -> list[Setting]:
        """The declarations, for help text and documentation."""
        out = []
        defaults = cls()
        for f in fields(cls):
            kind = {"int": int, "float": float, "bool": bool}.get(str(f.type), str)
            out.append(Setting(f.name, getattr(defaults, f.name), f.metadata["help"], kind))
        return out

    def merged(self, values: Mapping[str, Any], origin: str) -> Settings:
        """A copy with `values` applied; unknown names and bad types are errors naming `origin`."""
        known = {s.name: s for s in self.declared()}
        changes: dict[str, Any] = {}
        for key, raw in values.items():
            if raw is None:
                continue
            if key not in known:
                raise ConfigError(
                    f"{origin}: unknown setting {key!r}; known settings: {', '.join(sorted(known))}"
                )
            kind = known[key].kind
            try:
                changes[key] = _parse_bool(raw) if kind is bool else kind(raw)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"{origin}: setting {key!r} must be {kind.__name__}, got {raw!r}"
                ) from None
        return replace(self, **changes)

    def explicit(self) -> dict[str, Any]:
        """The settings that differ from the declared defaults (what a caller chose)."""
        defaults = Settings()
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) != getattr(defaults, f.name)
        }

    def with_environment(self, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values = {s.name: env[s.env] for s in self.declared() if s.env in env}
        return self.merged(values, "environment")


SETTINGS = Settings.declared()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _parse_bool(raw: Any) -> bool:
    """TOML gives real booleans; the environment gives words (true/false, yes/no, 1/0)."""
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError(raw)


def resolve_secret(value: str) -> str:
    """Resolve ``env:VAR`` references; other values are returned unchanged."""
    if value.startswith("env:"):
        name = value[4:]
        if name not in os.environ:
            raise ConfigError(
                f"the case refers to environment variable {name} for a secret, but it is not set; "
                f"export {name}=... and run again"
            )
        return os.environ[name]
    return value
