"""Registers the built-in stages exactly as a third party would: lazy "module:attr" strings.

The same lines belong in pyproject.toml under ``[project.entry-points."earshot.stages"]``;
registering them here as well keeps an editable checkout without fresh metadata working.
"""

from __future__ import annotations

from .stages import available_stages, register_stage

__all__ = ["BUILTIN_STAGES", "register_builtin_stages"]

BUILTIN_STAGES: dict[str, str] = {
    "decode": "earshot.pipeline.decode_stage:DecodeStage",
    "vad": "earshot.pipeline.speech_stages:VadStage",
    "separate": "earshot.pipeline.speech_stages:SeparateStage",
    "transcript": "earshot.pipeline.transcript_stage:TranscriptStage",
    "voiceprint": "earshot.pipeline.speech_stages:VoiceprintStage",
}


def register_builtin_stages() -> None:
    """Make the built-in stages available (idempotent; entry points of the same name win)."""
    present = set(available_stages())
    for name, reference in BUILTIN_STAGES.items():
        if name not in present:
            register_stage(name, reference)
