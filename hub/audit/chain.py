"""The hash chain: ``hash = SHA-256(prev_hash || canonical entry)``, starting from 64 zeros.

The canonical form is JSON with sorted keys, no whitespace and ASCII escapes, over every column
that describes the access plus ``seq`` (``kind`` only when it is not ``personal``). It is computed
here only, for sealing and for verifying.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from hub.models import AccessLog

GENESIS = "0" * 64
PERSONAL = "personal"

CONTENT_COLUMNS = (
    "id", "logged_at", "actor", "client_id", "role", "scope", "purpose", "operation_name", "operation_type",
    "document_hash", "person_ids", "household_ids", "record_ids", "fields", "outcome", "error_codes", "source_ip",
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)  # UUID


def canonical(entry: AccessLog, seq: int) -> bytes:
    body = {name: _plain(getattr(entry, name)) for name in CONTENT_COLUMNS}
    # ``kind`` came later (revision 0007): absent means personal, so entries sealed before it still
    # verify, and changing an entry's kind either way changes its hash.
    if entry.kind != PERSONAL:
        body["kind"] = entry.kind
    body["seq"] = seq
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def link(prev_hash: str, entry: AccessLog, seq: int) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical(entry, seq)).hexdigest()
