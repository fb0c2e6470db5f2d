"""Dukcapil (civil registry): NIK verification by per-field match."""

from connectors.dukcapil.client import DukcapilClient

__all__ = ["DukcapilClient"]
