"""Earshot security layer."""
