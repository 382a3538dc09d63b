"""Earshot web layer."""
