"""Synthetic population: a pure generator (``population``) and a bulk writer (``writer``)."""
