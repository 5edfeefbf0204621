"""Collection names are checked by Chroma's own rules before Chroma sees them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.settings import SettingsError, load_settings
from index.names import check_collection_name

BAD = ["1.2.3.4", "a..b", "ab", "-ab", "ab-", "ab.", "a b", "é12", "a" * 64, "passages/x"]
GOOD = ["abc", "passages", "a_b", "a.b", "A-B_c.d", "1.2.3", "999.1.1.1.1", "a" * 63]


@pytest.mark.parametrize("name", BAD)
def test_a_name_chroma_refuses_is_a_settings_error_naming_the_rules(name: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(collection=name)
    assert str(err.value).startswith("invalid settings: collection: a collection name must (1) have 3-63 characters")
    assert f"(got {name!r})" in str(err.value)


@pytest.mark.parametrize("name", ["1.2.3.4", "a..b"])
def test_the_cli_refuses_it_in_one_line_before_touching_the_store(tmp_path: Path, monkeypatch, name: str) -> None:
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, ["ask", "--llm", "fake", "--embedding", "fake", "--data-dir", "data", "Who?"],
                           env={"ASSISTANT_COLLECTION": name})
    assert r.exit_code == 2
    assert r.stderr.startswith("Error: invalid settings: collection: a collection name must") and r.stderr.count("\n") == 1
    assert not (tmp_path / "data").exists()


def test_the_rules_agree_with_chromas_check_and_client(tmp_path: Path) -> None:
    """Every name accepted here is accepted by Chroma's check and by a real client; every refused one by the check."""
    import chromadb
    from chromadb.api.segment import check_index_name
    from chromadb.config import Settings

    client = chromadb.PersistentClient(path=str(tmp_path), settings=Settings(anonymized_telemetry=False))
    for name in BAD + GOOD:
        try:
            check_index_name(name)
            chroma_ok = True
        except ValueError:
            chroma_ok = False
        try:
            check_collection_name(name)
            ours_ok = True
        except ValueError:
            ours_ok = False
        assert ours_ok == chroma_ok, name
        if ours_ok:
            assert client.get_or_create_collection(name).name == name
