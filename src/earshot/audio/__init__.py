"""Earshot audio layer."""

from .decode import AudioInfo, WorkingCopy, decode_to_working, probe, read_working

__all__ = ["AudioInfo", "WorkingCopy", "decode_to_working", "probe", "read_working"]
