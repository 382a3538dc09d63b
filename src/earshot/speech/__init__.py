"""Earshot speech layer."""
