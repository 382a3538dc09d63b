"""Speech recognition engines behind one small protocol, found through a registry."""

from earshot.speech.asr.base import AsrEngine, AsrSegment, AsrWord, ChunkedAsrEngine, describe
from earshot.speech.asr.registry import (
    ENTRY_POINT_GROUP,
    available_engines,
    describe_engine,
    get_engine,
    register_engine,
    unregister_engine,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "AsrEngine",
    "AsrSegment",
    "AsrWord",
    "ChunkedAsrEngine",
    "available_engines",
    "describe",
    "describe_engine",
    "get_engine",
    "register_engine",
    "unregister_engine",
]
