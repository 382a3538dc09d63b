"""Earshot audio layer."""
