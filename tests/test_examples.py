"""Every example runs, prints what it promises, and the shipped policy file stays in sync."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from escalate.testing import NotifierContract

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
sys.path.insert(0, str(ROOT / "examples"))


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script: Path, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), "an example must show what it did"
    assert "Traceback" not in result.stderr


def test_packaged_policy_is_the_documented_example() -> None:
    shipped = (ROOT / "src" / "escalate" / "escalation.toml").read_text()
    assert shipped == (ROOT / "examples" / "escalation.toml").read_text(), \
        "copy examples/escalation.toml to src/escalate/escalation.toml"


class TestJsonLinesNotifier(NotifierContract):
    channel = "jsonl"

    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.file = tmp_path / "out.jsonl"

    def make_notifier(self) -> object:
        from jsonl_notifier import JsonLinesNotifier  # type: ignore[import-not-found]

        return JsonLinesNotifier(self.file)

    def make_broken_notifier(self) -> object:
        from jsonl_notifier import JsonLinesNotifier

        return JsonLinesNotifier(self.file.parent / "missing" / "dir" / "out.jsonl")

    def delivered(self) -> list[tuple[str, str]]:
        import json

        if not self.file.exists():
            return []
        rows = [json.loads(line) for line in self.file.read_text().splitlines()]
        return [(row["to"], row["subject"]) for row in rows]


def test_policy_page_shows_the_example_file_verbatim() -> None:
    page = (ROOT / "docs" / "policy.md").read_text()
    example = (ROOT / "examples" / "escalation.toml").read_text()
    assert f"```toml\n{example}```" in page, "paste examples/escalation.toml into docs/policy.md"
