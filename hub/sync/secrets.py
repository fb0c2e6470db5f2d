"""Connector credentials at rest: Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from
``settings.credentials_key``. Credentials are write-only: nothing outside the sync engine decrypts them.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hub.config import Settings
from hub.errors import HubError


class CredentialsUnreadable(HubError):
    code = "CREDENTIALS_UNREADABLE"


def _fernet(settings: Settings) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"slrt-hub", info=b"connector-credentials").derive(
        settings.credentials_key.get_secret_value().encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(settings: Settings, credentials: dict[str, Any]) -> bytes:
    return _fernet(settings).encrypt(json.dumps(credentials, sort_keys=True).encode())


def unseal(settings: Settings, token: bytes | None) -> dict[str, Any]:
    if token is None:
        return {}
    try:
        data: dict[str, Any] = json.loads(_fernet(settings).decrypt(token))
    except InvalidToken:
        # The key changed since these were stored: an admin must enter the credentials again.
        raise CredentialsUnreadable("stored credentials cannot be decrypted with the current key") from None
    return data
