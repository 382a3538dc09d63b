"""Earshot language layer."""
