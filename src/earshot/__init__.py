"""Earshot: a workbench for investigating recorded phone calls."""

__version__ = "0.1.0"
