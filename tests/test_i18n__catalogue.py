"""Every string of the product reads in Simplified Chinese, and the compiled catalogue
is the one the source says."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.utils import translation

from crisisflow.vocab import Role, Stage, State

LOCALE = Path(__file__).resolve().parent.parent / "crisisflow" / "locale" / "zh_Hans" / "LC_MESSAGES"


def entries() -> list[str]:
    text = (LOCALE / "django.po").read_text(encoding="utf-8")
    return [e for e in text.split("\n\n") if "msgid" in e and not e.startswith('msgid ""\nmsgstr ""\n"')]


def test_no_string_is_left_untranslated_or_fuzzy():
    missing = []
    for entry in entries():
        if "#, fuzzy" in entry or re.search(r'msgstr(\[\d\])? ""\s*$', entry):
            missing.append(entry)
    assert missing == []


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="needs gettext's msgfmt")
def test_the_committed_mo_file_is_compiled_from_the_po_file(tmp_path):
    out = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "-o", str(out), str(LOCALE / "django.po")], check=True)
    assert out.read_bytes() == (LOCALE / "django.mo").read_bytes()


def test_the_vocabulary_speaks_chinese():
    with translation.override("zh-hans"):
        assert str(State.REMEDIATING.label) != "Remediating"
        assert str(Role.LEGAL.label) != "Legal"
        assert str(Stage.PUBLISH.label) != "Publish information"
