"""Baznas (national zakat agency): partner programmes, mustahik lists, referrals."""

from connectors.baznas.client import BaznasClient

__all__ = ["BaznasClient"]
