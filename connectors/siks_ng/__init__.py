"""SIKS-NG (Kemensos): the integrated social registry."""

from connectors.siks_ng.client import SiksNgClient

__all__ = ["SiksNgClient"]
