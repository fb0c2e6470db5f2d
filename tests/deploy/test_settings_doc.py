"""README.md's configuration table is the one ``Settings`` generates, and covers every setting."""

from __future__ import annotations

from pathlib import Path

from hub import settings_doc
from hub.config import Settings


def test_every_setting_is_described() -> None:
    assert settings_doc.undocumented() == []


def test_table_in_docs_is_current() -> None:
    text = settings_doc.DOC.read_text()
    start = text.index(settings_doc.START) + len(settings_doc.START) + 1
    assert text[start:text.index(settings_doc.END)] == settings_doc.table(), (
        "README.md's configuration table is stale: run `python -m hub.settings_doc --write`")
    for name in Settings.model_fields:
        assert f"| `SLRT_{name.upper()}` |" in text


def test_rewrite_replaces_only_the_table(tmp_path: Path) -> None:
    doc = tmp_path / "deploy.md"
    doc.write_text(f"intro\n{settings_doc.START}\nold rows\n{settings_doc.END}\noutro\n")
    settings_doc.rewrite(doc)
    assert doc.read_text() == f"intro\n{settings_doc.START}\n{settings_doc.table()}{settings_doc.END}\noutro\n"
