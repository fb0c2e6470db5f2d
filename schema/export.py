"""The committed schema artifact: ``schema/schema.graphql`` is what ``build_schema`` prints."""

from __future__ import annotations

from pathlib import Path

from hub.config import Profile, Settings
from schema.app import build_schema

SCHEMA_FILE = Path(__file__).with_name("schema.graphql")


def schema_sdl() -> str:
    # The limits and profile do not change the types; dev keeps the settings free of secrets checks.
    return build_schema(Settings(profile=Profile.dev)).as_str() + "\n"
