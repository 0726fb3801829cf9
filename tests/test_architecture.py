"""The house rules, checked: which subsystem may import which, records agree with their schemas,
every module says what it exports, and the tooling's requirements are listed once in two places that agree."""

from __future__ import annotations

import ast
import dataclasses
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from scripts.audit import records as audit_records
from scripts.bench import records as bench_records
from scripts.common.jsonio import NOT_STORED, read_json
from scripts.common.processes import run
from scripts.constraints import records as constraints_records
from scripts.grid import records as grid_records
from scripts.introductions import records as introductions_records
from scripts.layout import ROOT
from scripts.packages.interpreters import discover
from scripts.servers import records as server_records

SCRIPTS = ROOT / "scripts"
#: What each part of scripts/ may import from scripts/ (itself always). report/ reads records only.
ALLOWED: dict[str, set[str]] = {
    "layout": set(),
    "common": set(),
    "packages": {"common", "layout"},
    "audit": {"packages", "common", "layout"},
    "grid": {"constraints", "audit", "packages", "common", "layout"},
    "constraints": {"audit", "packages", "common", "layout"},
    "introductions": {"audit", "packages", "common", "layout"},
    "servers": {"packages", "common", "layout"},
    "bench": {"audit", "grid", "packages", "common", "layout"},
    "ci": {"audit", "grid", "packages", "common", "layout", "report"},
    "report": {"common", "layout"},
    "site": {"common", "layout"},
}
#: The modules report/ may read besides common/ and layout: each subsystem's records, and the catalogue.
RECORDS = {
    "scripts.audit.records",
    "scripts.grid.records",
    "scripts.constraints.records",
    "scripts.introductions.records",
    "scripts.servers.records",
    "scripts.bench.records",
    "scripts.packages.catalogue",
}


def modules() -> list[Path]:
    return sorted(p for p in SCRIPTS.rglob("*.py") if "__pycache__" not in p.parts)


def part(path: Path) -> str:
    relative = path.relative_to(SCRIPTS)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def imported(path: Path) -> set[str]:
    """Every module of ours the file imports: ``from scripts.audit import records`` is ``scripts.audit.records``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            folder = ROOT.joinpath(*node.module.split("."))
            for alias in node.names:
                submodule = (folder / f"{alias.name}.py").exists()
                found.add(f"{node.module}.{alias.name}" if submodule else node.module)
    return {name for name in found if name.startswith("scripts.")}


def test_each_subsystem_imports_only_what_the_layering_allows():
    broken = []
    for path in modules():
        own = part(path)
        for name in imported(path):
            target = name.split(".")[1]
            allowed = target == own or target in ALLOWED[own] or (own == "report" and name in RECORDS)
            if not allowed:
                broken.append(f"{path.relative_to(ROOT)} imports {name}")
    assert broken == []


def test_the_layering_test_catches_a_renderer_that_imports_a_runner():
    rogue = SCRIPTS / "report" / "_rogue_for_test.py"
    rogue.write_text("from scripts.grid.run import observe\n")
    try:
        with pytest.raises(AssertionError, match=r"imports scripts\.grid\.run"):
            test_each_subsystem_imports_only_what_the_layering_allows()
    finally:
        rogue.unlink()


def test_probes_import_nothing_of_ours_and_compile_on_python_2_7(tmp_path):
    probes = sorted((ROOT / "probes").glob("*.py"))
    for path in probes:
        assert not any(name.split(".")[0] == "scripts" for name in _top_imports(path.read_text())), path.name
    python2 = next((i for i in discover() if i.version[:2] == (2, 7)), None)
    if python2 is None:
        pytest.skip("no Python 2.7 here to compile the probes with")
    for path in probes:
        done = run([python2.path, "-c", "import sys; compile(open(sys.argv[1]).read(), sys.argv[1], 'exec')", path], 60)
        assert done.ok, f"{path.name} does not compile on Python 2.7: {done.output}"


def _top_imports(text: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_every_module_declares_what_it_exports_and_exports_what_it_declares():
    problems = []
    for path in modules():
        if path.name == "__init__.py":
            continue
        tree = ast.parse(path.read_text())
        declared = [
            node
            for node in tree.body
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets)
        ]
        if not declared:
            problems.append(f"{path.relative_to(ROOT)}: no __all__")
            continue
        names = ast.literal_eval(declared[0].value)
        defined = {
            target.id
            for node in tree.body
            for target in (node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)])
            if isinstance(target, ast.Name)
        } | {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)}
        missing = [name for name in names if name not in defined]
        if missing:
            problems.append(f"{path.relative_to(ROOT)}: __all__ names {missing}, not defined there")
    assert problems == []


def test_each_schema_sits_beside_its_records_module_with_a_prose_companion():
    for schema in SCRIPTS.rglob("*.schema.json"):
        # Beside the module that writes what it describes: a records module, or a renderer of data for others.
        writers = [m for m in schema.parent.glob("*.py") if f'with_name("{schema.name}")' in m.read_text()]
        assert writers, f"{schema} is not beside the module that declares it (SCHEMA_PATH)"
        assert schema.with_suffix("").with_suffix(".schema.md").exists(), f"{schema.name} has no prose companion"


# -- records and schemas from one source of truth ------------------------------------------------------


def _node(schema: dict[str, Any], pointer: str) -> dict[str, Any]:
    node: Any = schema
    for key in pointer.strip("/").split("/"):
        if key:
            node = node[key]
    return dict(node)


PAIRS = [
    (record, module.SCHEMA_PATH, record.schema_node)
    for module in (
        audit_records,
        grid_records,
        server_records,
        bench_records,
        constraints_records,
        introductions_records,
    )
    for record in vars(module).values()
    if dataclasses.is_dataclass(record) and record.__module__ == module.__name__
]


def test_every_record_type_says_where_it_stands_in_its_schema():
    assert len(PAIRS) == 19, (
        "Observation, ModeObservation, Build; GridRecord, Cell; 4 server, 4 bench record types; "
        "ConstraintsRecord, Attempt, Bound; IntroductionsRecord, Introduction, Sample"
    )


def _literal_choices(hint: Any) -> tuple[set[Any], bool] | None:
    """The values a Literal (or optional Literal) type allows, and whether None is allowed too."""
    args = typing.get_args(hint) if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union else ()
    optional = type(None) in args
    inner = [a for a in args if a is not type(None)] if args else [hint]
    if len(inner) == 1 and typing.get_origin(inner[0]) is typing.Literal:
        return set(typing.get_args(inner[0])), optional
    return None


@pytest.mark.parametrize(("record", "schema_path", "pointer"), PAIRS, ids=[p[0].__qualname__ for p in PAIRS])
def test_record_dataclass_and_schema_agree(record, schema_path, pointer):
    node = _node(read_json(schema_path), pointer)
    fields = {f.name: f for f in dataclasses.fields(record) if f.metadata != NOT_STORED}
    assert set(fields) == set(node["properties"]), "the same stored fields, no more, no fewer"
    no_default = {
        name
        for name, f in fields.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    assert no_default <= set(node.get("required", [])), "a field the dataclass needs is required by the schema"
    hints = typing.get_type_hints(record)
    for name, hint in hints.items():
        choices = _literal_choices(hint)
        if choices is None:
            continue
        allowed, optional = choices
        enum = set(node["properties"][name].get("enum", []))
        assert enum - {None} == allowed, f"{record.__qualname__}.{name}: schema enum differs from the Literal"
        assert (None in enum) == optional, f"{record.__qualname__}.{name}: null allowed in one place only"
    if record is audit_records.Observation:
        assert set(node["properties"]["modes"]["propertyNames"]["enum"]) == set(audit_records.MODES)
        assert node["properties"]["schema_version"]["const"] == audit_records.SCHEMA_VERSION


# -- the tooling's requirements --------------------------------------------------------------------------


def _header_dependencies() -> list[str]:
    lines = (ROOT / "noxfile.py").read_text().split("# /// script\n", 1)[1].split("# ///", 1)[0]
    return list(tomllib.loads("\n".join(line.removeprefix("# ") for line in lines.splitlines()))["dependencies"])


def test_the_noxfile_header_and_requirements_audit_txt_list_the_same_tooling():
    listed = [
        line.strip()
        for line in (ROOT / "requirements" / "audit.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert sorted(map(str, map(Requirement, listed))) == sorted(map(str, map(Requirement, _header_dependencies())))


def test_the_noxfile_header_declares_the_python_the_tooling_needs():
    block = (ROOT / "noxfile.py").read_text().split("# /// script\n", 1)[1].split("# ///", 1)[0]
    header = tomllib.loads("\n".join(line.removeprefix("# ") for line in block.splitlines()))
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert header["requires-python"] == pyproject["project"]["requires-python"] == ">=3.11"


#: The systems the workflows run on, as markers see them.
SYSTEMS = [
    {"sys_platform": platform, "platform_machine": machine, "platform_system": system}
    for platform, system, machine in (
        ("linux", "Linux", "x86_64"), ("linux", "Linux", "aarch64"), ("darwin", "Darwin", "arm64"),
        ("win32", "Windows", "AMD64"),
    )
]  # fmt: skip


def _pins(path: Path) -> dict[str, list[Requirement]]:
    """The pinned requirements of a compiled file, by normalized name (one name may be pinned per marker)."""
    pins: dict[str, list[Requirement]] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            requirement = Requirement(line)
            pins.setdefault(canonicalize_name(requirement.name), []).append(requirement)
    return pins


@pytest.mark.parametrize("group", ["lint", "docs", "tests"])
def test_each_compiled_toolchain_pins_every_requirement_of_its_group_within_its_bounds(group):
    """requirements/GROUP.txt is `nox -s requirements` output for pyproject.toml's group: an edit of either alone
    (a requirement added, a bound raised above the pin) fails here until it is compiled again."""
    import nox.project

    pins = _pins(ROOT / "requirements" / f"{group}.txt")
    for text in nox.project.dependency_groups(nox.project.load_toml(ROOT / "pyproject.toml"), group):
        wanted = Requirement(text)
        found = pins.get(canonicalize_name(wanted.name), [])
        assert found, f"{wanted.name} of group {group} is not pinned: run nox -s requirements"
        for pin in found:
            (version,) = (spec.version for spec in pin.specifier)
            assert str(next(iter(pin.specifier)).operator) == "==", pin
            assert wanted.specifier.contains(version, prereleases=True), (
                f"{pin} is outside {wanted}: nox -s requirements"
            )
        if wanted.marker is not None:  # where the group wants it, and only there, on each system the workflows use
            for system in SYSTEMS:
                assert any(p.marker is None or p.marker.evaluate(system) for p in found) == wanted.marker.evaluate(
                    system
                ), f"{found} against {wanted} on {system}"
