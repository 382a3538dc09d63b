"""Earshot ingest layer."""
