"""The project's own files agree with each other: dependency lists, entry points, package data."""

from __future__ import annotations

import fnmatch
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[2]


def test_environment_yml_mirrors_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    assert sorted(d for d in pip_section if d != "-e .") == sorted(wanted)
    python = next(d for d in environment["dependencies"] if str(d).startswith("python"))
    assert python == f"python{project['requires-python']}"


def test_every_dependency_has_a_lower_bound() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in [*project["dependencies"], *project["optional-dependencies"]["test"]]:
        assert ">=" in requirement, requirement


def test_readme_opens_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    head = readme[:2500]
    assert "make demo" in head and "make test" in head
    assert "make test" in (ROOT / ".ci" / "run").read_text()


BUNDLED = {  # data package -> (its folder at the top of the repository, the file it ships)
    "relink.bundled_notebooks": ("notebooks", "audit.ipynb"),
    "relink.bundled_runbook": ("runbook", "change_aliexpress_account.ipynb"),
    "relink.bundled_api": ("api", "openapi.json"),
}


def setuptools_config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_packages_list_every_folder_of_the_library() -> None:
    """The package list is explicit (data packages are mapped in): no folder of lib/ left out."""
    folders = {
        ".".join(path.relative_to(ROOT / "lib").parts)
        for path in [ROOT / "lib" / "relink", *(ROOT / "lib" / "relink").rglob("*")]
        if path.is_dir()
        and path.name != "__pycache__"
        and any(f.is_file() and f.suffix != ".pyc" for f in path.iterdir())
    }
    config = setuptools_config()
    # a folder whose files a package ships as its data (relink.audit.templates' language folders)
    shipped = {
        f"{package}.{pattern.split('/')[0]}"
        for package, patterns in config["package-data"].items()
        for pattern in patterns
        if "/" in pattern
    }
    folders = {
        folder
        for folder in folders
        if not any(fnmatch.fnmatch(folder, as_data) for as_data in shipped)
    }
    assert sorted(config["packages"]) == sorted(folders | set(BUNDLED))
    assert config["package-dir"][""] == "lib"


def test_bundled_files_are_mapped_from_the_top_of_the_repository() -> None:
    config = setuptools_config()
    for package, (folder, name) in BUNDLED.items():
        assert config["package-dir"][package] == folder
        assert config["package-data"][package] == [name]
        assert (ROOT / folder / name).is_file()
        assert not (ROOT / folder / "__init__.py").exists()  # data only, never code


def test_one_copy_of_each_bundled_file_in_git() -> None:
    try:
        tracked = subprocess.run(
            ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    for folder, name in BUNDLED.values():
        copies = [path for path in tracked if Path(path).name == name]
        assert copies == [f"{folder}/{name}"], copies


def test_code_finds_the_bundled_files_in_a_checkout() -> None:
    """In a source checkout the packaged paths are the repository's own files (one copy)."""
    from relink import batch, resources
    from relink.batch import parameters
    from relink.sandbox import contract

    assert batch.DEFAULT_NOTEBOOK == resources.AUDIT_NOTEBOOK == ROOT / "notebooks" / "audit.ipynb"
    runbook = ROOT / "runbook" / "change_aliexpress_account.ipynb"
    assert parameters.RUNBOOK_NOTEBOOK == resources.RUNBOOK_NOTEBOOK == runbook
    assert contract.CONTRACT_PATH == resources.OPENAPI_CONTRACT == ROOT / "api" / "openapi.json"


def test_every_third_party_import_of_the_library_is_declared() -> None:
    """An import that works only because another package pulled it in breaks on an upgrade."""
    import ast
    import importlib.metadata
    import re
    import sys

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    # the runtime dependencies, and the optional extras a feature needs (never the test tools)
    extras = [r for name, group in project["optional-dependencies"].items() if name != "test"
              for r in group]  # fmt: skip
    declared = {
        re.split(r"[<>=!~\[ ]", requirement)[0].lower().replace("_", "-")
        for requirement in [*project["dependencies"], *extras]
    }
    distributions = importlib.metadata.packages_distributions()
    undeclared = set()
    for path in (ROOT / "lib" / "relink").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top == "relink" or top in sys.stdlib_module_names:
                    continue
                owners = {d.lower().replace("_", "-") for d in distributions.get(top, [top])}
                if not owners & declared:
                    undeclared.add(f"{top} ({path.relative_to(ROOT)})")
    assert undeclared == set()
