"""Education programme lists (PIP / KIP recipients, Kemendikbud)."""

from connectors.education.client import EducationClient

__all__ = ["EducationClient"]
