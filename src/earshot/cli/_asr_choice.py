"""`--asr` for the commands that transcribe: bare model names and the default engine."""

from __future__ import annotations

from typing import Any

from ..speech.asr import available_engines
from ..speech.models import choose_default_asr, resolve_asr_spec
from ._base import err
from ._terminal import safe

__all__ = ["asr_stage_options", "resolve_asr"]


def resolve_asr(asr: str, models_dir: str) -> str:
    """``asr`` with a bare catalogue name expanded to the installed model's folder."""
    return resolve_asr_spec(asr, models_dir, available_engines())


def asr_stage_options(
    asr: str | None, models_dir: str, *, only: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """The transcript stage's engine options: the resolved ``--asr``, or (without one) the best
    installed model as the default for calls without a sidecar, announced on stderr."""
    if asr:
        return {"asr": resolve_asr(asr, models_dir)}
    if only is not None and "transcript" not in only:
        return {"asr": None}
    choice = choose_default_asr(models_dir)
    if choice.spec:
        err.print(
            f"[dim]transcript: no --asr given; using {safe(choice.spec)} for calls "
            f"without a sidecar transcript ({safe(choice.reason)})[/]"
        )
    return {"asr": None, "default_asr": choice.spec, "default_reason": choice.reason}
