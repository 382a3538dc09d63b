"""Earshot store layer."""
