"""Earshot publish layer."""
