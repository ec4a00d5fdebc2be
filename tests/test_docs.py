"""The documentation is part of the product: every Python block runs, the strict build fails
on a broken link, the API reference names every public name, Mermaid diagrams render, and
the navigation reads in a newcomer's order."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import escalate

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MKDOCS = Path(sys.executable).with_name("mkdocs")
BLOCK = re.compile(r"(<!-- not run: (?P<why>[^>]*?) -->\n)?```python\n(?P<code>.*?)```", re.S)
PAGES = sorted(p for p in DOCS.rglob("*.md") if "```python" in p.read_text(encoding="utf-8"))


def python_blocks(page: Path) -> list[tuple[str, str | None]]:
    """(code, reason it is not run or None) of every ```python block, in page order."""
    return [(m["code"], m["why"]) for m in BLOCK.finditer(page.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_every_python_block_runs(page: Path, tmp_path: Path) -> None:
    """The page's blocks run in order, in one interpreter, in a folder with examples/."""
    blocks = python_blocks(page)
    skipped = [why for _, why in blocks if why is not None]
    assert all(why and why.strip() for why in skipped), "a skipped block must say why"
    script = "\n\n".join(f"# --- block {n}\n{code}" for n, (code, why) in enumerate(blocks)
                         if why is None)
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    (tmp_path / "page.py").write_text(script, encoding="utf-8")
    env = {**os.environ, "ESCALATE_DISABLE_PLUGIN_AUTOLOAD": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *sys.path])}
    result = subprocess.run([sys.executable, "page.py"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{page.name}:\n{result.stderr[-3000:]}"


def test_the_block_finder_sees_blocks_and_skip_reasons(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text("x\n```python\na = 1\n```\n<!-- not run: a skeleton -->\n```python\n"
                    "...\n```\n```sh\nls\n```\n", encoding="utf-8")
    assert python_blocks(page) == [("a = 1\n", None), ("...\n", "a skeleton")]


def test_every_page_with_python_is_covered() -> None:
    with_blocks = {p for p in DOCS.rglob("*.md") if python_blocks(p)}
    assert with_blocks == set(PAGES) and len(PAGES) >= 8


def _build(config_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(MKDOCS), "build", "--strict", "--site-dir",
                           str(config_dir / "site")], cwd=config_dir, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def docs_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the docs and the config, with src/ and plugins/ linked for the reference."""
    if not MKDOCS.exists():
        pytest.skip("mkdocs is not installed (the dev extra)")
    root = tmp_path_factory.mktemp("docs")
    shutil.copytree(DOCS, root / "docs")
    shutil.copy(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    for name in ("src", "plugins"):
        (root / name).symlink_to(ROOT / name)
    return root


def test_the_strict_build_passes_and_renders(docs_copy: Path) -> None:
    result = _build(docs_copy)
    assert result.returncode == 0, result.stderr[-3000:]
    concepts = (docs_copy / "site" / "concepts" / "index.html").read_text(encoding="utf-8")
    assert '<div class="mermaid">stateDiagram-v2' in concepts  # not a code block
    assert 'src="../js/mermaid-init.js"' in concepts and 'type="module"' in concepts
    api = (docs_copy / "site" / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    for name in ("Desk", "cases", "expected_version", "CaseExists", "StoreContract"):
        assert name in api, name
    assert "A desk applying" in api  # Desk.__init__'s docstring is rendered


def test_the_strict_build_fails_on_a_broken_link(docs_copy: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(docs_copy, broken, symlinks=True)
    index = broken / "docs" / "index.md"
    index.write_text(index.read_text(encoding="utf-8") + "\n[gone](no-such-page.md)\n",
                     encoding="utf-8")
    result = _build(broken)
    assert result.returncode != 0
    assert "no-such-page.md" in result.stderr


def test_the_makefile_builds_docs_strictly_and_loudly() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    [line] = [line for line in makefile.splitlines() if "mkdocs build" in line]
    assert "--strict" in line and "--quiet" not in line and "-q" not in line.split()


def test_the_api_reference_names_every_public_name() -> None:
    page = (DOCS / "reference" / "api.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^::: escalate\.(\w+)$", page, re.M))
    assert set(escalate.__all__) <= documented, set(escalate.__all__) - documented


def test_every_public_name_has_a_docstring() -> None:
    missing = []
    for name in escalate.__all__:
        obj = getattr(escalate, name)
        if not (getattr(obj, "__doc__", None) or "").strip():
            missing.append(name)
        for attr, member in vars(obj).items() if isinstance(obj, type) else ():
            public = not attr.startswith("_") or attr == "__init__"
            if public and callable(member) and "__doc__" in dir(member) \
                    and getattr(member, "__qualname__", "").startswith(obj.__name__ + ".") \
                    and not (member.__doc__ or "").strip():
                missing.append(f"{name}.{attr}")
    assert "Desk.__init__" not in missing
    assert missing == []


def test_the_navigation_reads_in_a_newcomers_order() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    nav = config[config.index("\nnav:"):config.index("\nmarkdown_extensions:")]
    sections = re.findall(r"^  - ([^:]+):", nav, re.M)
    assert sections == ["Home", "Quick start", "Concepts", "Tutorial", "How-tos", "Reference",
                        "Operations"]
