"""Write (or check) every file generated from the tap's own declarations:

- ``plugin/tap-callrecords.yml``: the Meltano Hub plugin definition
  (``python -m tap_callrecords.plugin``);
- the ``tap-callrecords`` extractor block of ``meltano.yml`` (same settings, capabilities and
  settings groups; the project's ``pip_url: -e .`` and ``config`` kept);
- the README's stream and settings tables (``tap-callrecords --about --format=markdown``).

    python scripts/generate.py           # rewrite them
    python scripts/generate.py --check   # exit 1, naming each file that drifted
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

from tap_callrecords.about import format_about
from tap_callrecords.plugin import dump, hub_definition, project_extractor
from tap_callrecords.tap import TapCallRecords

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_FILE = ROOT / "plugin" / "tap-callrecords.yml"
MELTANO_YML = ROOT / "meltano.yml"
README = ROOT / "README.md"

HEADER = ("# Meltano Hub plugin definition of tap-callrecords, generated from the tap's settings\n"
          "# schema by `python scripts/generate.py` (python -m tap_callrecords.plugin); do not edit.\n")


def plugin_file() -> str:
    return HEADER + dump(hub_definition())


def meltano_yml(current: str) -> str:
    project = yaml.safe_load(current)
    extractors = project["plugins"]["extractors"]
    for index, extractor in enumerate(extractors):
        if extractor["name"] == TapCallRecords.name:
            extractors[index] = project_extractor(extractor)
    return dump(project)


def about_tables() -> dict[str, str]:
    """The markdown tables of ``--about --format=markdown``, by section title."""
    text = format_about(TapCallRecords._get_about_info(), "markdown")
    tables: dict[str, str] = {}
    for section in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
        title, _, body = section.partition("\n")
        rows = [line for line in body.splitlines() if line.startswith("|")]
        if rows:
            tables[title.strip().lower()] = "\n".join(rows) + "\n"
    return tables


def readme(current: str) -> str:
    """The README with each ``<!-- generated: NAME -->`` … ``<!-- end generated -->`` block redone."""
    tables = about_tables()

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        opening = match.group(0).split("\n", 1)[0]
        return f"{opening}\n{tables[name]}<!-- end generated -->"

    block = r"<!-- generated: (\w+) [^\n]*-->\n.*?<!-- end generated -->"
    return re.sub(block, fill, current, flags=re.DOTALL)


def expected() -> dict[Path, str]:
    """Each generated file's content as it should be."""
    return {
        PLUGIN_FILE: plugin_file(),
        MELTANO_YML: meltano_yml(MELTANO_YML.read_text()),
        README: readme(README.read_text()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file drifted")
    args = parser.parse_args()
    drifted = []
    for path, content in expected().items():
        if path.exists() and path.read_text() == content:
            continue
        drifted.append(path.relative_to(ROOT))
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
    if args.check and drifted:
        names = ", ".join(str(path) for path in drifted)
        sys.exit(f"out of date: {names}; run `python scripts/generate.py`")
    for path in drifted:
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
