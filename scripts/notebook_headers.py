"""Give every lecture and lab its first two cells: an "Open in Colab" badge pointing at the
notebook's own path in the repository, and a cell that installs cnnkit on Colab only.

    python scripts/notebook_headers.py           # add or update the cells in place
    python scripts/notebook_headers.py --check   # exit 1 if any notebook is not up to date

The repository's address comes from pyproject.toml ([project.urls] Repository) and the branch
from [tool.cnn-course] colab-branch. Lab sources in solutions/ get the badge of their student
version in labs/ (students open that one), and nbgrader copies both cells into labs/.
Only cell sources and tags are touched, so executed outputs elsewhere stay as they are.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import tomllib

ROOT = Path(__file__).resolve().parents[1]
BADGE_TAG = "colab-badge"
INSTALL_TAG = "colab-install"


def repository() -> tuple[str, str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    url = config["project"]["urls"]["Repository"].rstrip("/")
    return url, config["tool"]["cnn-course"]["colab-branch"]


def colab_url(relative_path: str) -> str:
    url, branch = repository()
    slug = url.removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{slug}/blob/{branch}/{relative_path}"


def badge_source(relative_path: str) -> str:
    return ("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"({colab_url(relative_path)})")


def install_source() -> str:
    url, branch = repository()
    return (
        "# On Colab only: install the course's helper package cnnkit. Colab's TensorFlow stays as\n"
        "# it is (cnnkit asks for a range it already satisfies). Elsewhere this cell does nothing.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install --quiet "cnnkit @ git+{url}@{branch}"\n'
        "    from google.colab import output\n"
        "\n"
        "    output.enable_custom_widget_manager()  # ipywidgets 8 on Colab"
    )


def badge_target(path: Path) -> str:
    """Where a notebook's badge points: itself, or for a lab source its student version."""
    relative = path.resolve().relative_to(ROOT)
    if relative.parts[0] == "solutions":
        return str(Path("labs", *relative.parts[1:]))
    return str(relative)


def notebooks() -> list[Path]:
    return sorted(ROOT.glob("lectures/*.ipynb")) + sorted(ROOT.glob("solutions/*/*.ipynb"))


def _tagged(cell, tag: str) -> bool:
    return tag in cell.get("metadata", {}).get("tags", [])


def with_headers(notebook, target: str):
    """Return True if the notebook's header cells had to change (they are changed in place)."""
    changed = False
    wanted = [
        (BADGE_TAG, nbformat.v4.new_markdown_cell(badge_source(target))),
        (INSTALL_TAG, nbformat.v4.new_code_cell(install_source())),
    ]
    for position, (tag, fresh) in enumerate(wanted):
        cells = notebook.cells
        existing = next((i for i, cell in enumerate(cells) if _tagged(cell, tag)), None)
        if existing is None:
            fresh.metadata["tags"] = [tag]
            fresh["id"] = tag  # a fixed id: regenerating must not change the file
            cells.insert(position, fresh)
            changed = True
            continue
        cell = cells[existing]
        if cell.source != fresh.source or existing != position:
            cell.source = fresh.source
            cells.insert(position, cells.pop(existing))
            changed = True
    return changed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if outdated")
    args = parser.parse_args()
    outdated = []
    for path in notebooks():
        notebook = nbformat.read(path, as_version=4)
        if with_headers(notebook, badge_target(path)):
            outdated.append(path.relative_to(ROOT))
            if not args.check:
                nbformat.write(notebook, path)
    for path in outdated:
        print(f"{'outdated' if args.check else 'updated'}: {path}")
    return 1 if (args.check and outdated) else 0


if __name__ == "__main__":
    sys.exit(main())
