"""Health programme lists (PBI-JK members, BPJS Kesehatan)."""

from connectors.health.client import HealthClient

__all__ = ["HealthClient"]
