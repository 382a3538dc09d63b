"""Earshot pipeline layer."""
