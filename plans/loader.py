"""Reads a plan file: YAML with line numbers, pydantic validation, cross-reference checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from plans.schema import PlanFile
from wording.validation import pydantic_reason

Loc = tuple[str | int, ...]


class _PlanYamlLoader(yaml.SafeLoader):
    """Safe YAML that leaves dates as text, so pydantic reports a bad date with its field."""


_PlanYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class PlanProblem:
    """One mistake in a plan file, located by line and field path."""

    line: int | None
    field: str
    message: str

    def render(self, path: str) -> str:
        where = f"{path}:{self.line}" if self.line else path
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class PlanError(Exception):
    """A plan file that cannot be used; carries every problem found, in file order."""

    def __init__(self, path: str, problems: list[PlanProblem]) -> None:
        self.path = path
        self.problems = sorted(problems, key=lambda p: (p.line or 0, p.field))
        super().__init__("\n".join(p.render(path) for p in self.problems))


def field_path(loc: Loc) -> str:
    """`('obligations', 2, 'reporters', 0)` -> `obligations[2].reporters[0]`."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_index(node: yaml.Node, loc: Loc, index: dict[Loc, int]) -> None:
    index[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*loc, str(key.value))
            _line_index(value, child, index)
            index[child] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            _line_index(value, (*loc, i), index)


def line_of(loc: Loc, index: dict[Loc, int]) -> int | None:
    """The line of a field path, or of its nearest enclosing field."""
    # pydantic adds union branch names to loc; drop parts until a known prefix remains.
    for end in range(len(loc), -1, -1):
        if loc[:end] in index:
            return index[loc[:end]]
    return None


def read_yaml(text: str, path: str, shape: str) -> tuple[dict[str, Any], dict[Loc, int]]:
    """A YAML mapping (dates left as text) and the line of every field path in it."""
    loader = _PlanYamlLoader(text)
    try:  # parsed once: the nodes give the lines, the data is built from them (as yaml.load)
        node = loader.get_single_node()
        data: Any = None if node is None else loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise PlanError(
            path, [PlanProblem(line, "", f"không phải YAML hợp lệ: {problem}")]
        ) from None
    finally:
        loader.dispose()
    if node is None or not isinstance(data, dict):
        raise PlanError(path, [PlanProblem(1, "", shape)])
    index: dict[Loc, int] = {}
    _line_index(node, (), index)
    return data, index


def parse_plan(text: str, path: str = "<plan>") -> PlanFile:
    """Validate plan text; raise PlanError naming file, line and field of every problem."""
    data, index = read_yaml(text, path, "tệp phải là một bảng YAML có khóa 'plan'")
    try:
        plan = PlanFile.model_validate(data)
    except ValidationError as exc:
        raise PlanError(path, validation_problems(exc, index)) from None
    problems = located(check_references(plan), index)
    if problems:
        raise PlanError(path, problems)
    return plan


def validation_problems(
    exc: ValidationError,
    index: dict[Loc, int],
    reason: Callable[[ErrorDetails], str] = pydantic_reason,
) -> list[PlanProblem]:
    """pydantic's refusals of a file, each at its line and field, said in Vietnamese."""
    found: list[tuple[Loc, str]] = []
    for err in exc.errors(include_url=False):
        # Drop the names pydantic gives a union's branches: they are no field of the file.
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        loc = tuple(p for p in loc if p not in ("ObligationTargetEntry", "str"))
        found.append((loc, reason(err)))
    return located(found, index)


def located(found: list[tuple[Loc, str]], index: dict[Loc, int]) -> list[PlanProblem]:
    """Problems found by field path, with the line each field is on."""
    return [PlanProblem(line_of(loc, index), field_path(loc), message) for loc, message in found]


def unreadable(exc: OSError | UnicodeDecodeError) -> str:
    """Why a plan or calendar file could not be read, in Vietnamese."""
    if isinstance(exc, UnicodeDecodeError):
        return f"không đọc được tệp: tệp không phải văn bản UTF-8 (byte thứ {exc.start + 1})"
    return f"không đọc được tệp: {exc.strerror or exc}"


def read_plan(path: Path) -> PlanFile:
    """Read and validate a plan file from disk."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(str(path), [PlanProblem(None, "", unreadable(exc))]) from None
    return parse_plan(text, str(path))


def check_references(plan: PlanFile) -> list[tuple[Loc, str]]:
    """Every code a plan refers to must be defined in it, once."""
    problems: list[tuple[Loc, str]] = []

    def unique(section: str, codes: list[str]) -> set[str]:
        seen: set[str] = set()
        for i, code in enumerate(codes):
            if code in seen:
                problems.append(((section, i, "code"), f"mã {code!r} bị trùng"))
            seen.add(code)
        return seen

    units = unique("units", [u.code for u in plan.units])
    groups = unique("groups", [g.code for g in plan.groups])
    people = unique("people", [p.code for p in plan.people])
    targets = unique("targets", [t.code for t in plan.targets])
    tasks = unique("tasks", [t.code for t in plan.tasks])
    unique("deliverables", [d.code for d in plan.deliverables])
    unique("obligations", [o.code for o in plan.obligations])
    unique("calendar", [c.date.isoformat() for c in plan.calendar])
    for i, code in enumerate(sorted(units & groups)):
        problems.append((("groups", i, "code"), f"mã {code!r} vừa là đơn vị vừa là nhóm"))
    units_or_groups = units | groups

    def ref(loc: Loc, code: str | None, known: set[str], what: str) -> None:
        if code is not None and code not in known:
            problems.append((loc, f"kế hoạch không có {what} mã {code!r}"))

    ref(("plan", "issuer"), plan.plan.issuer, units, "đơn vị")
    ref(("plan", "signer"), plan.plan.signer, people, "người")
    for i, u in enumerate(plan.units):
        ref(("units", i, "parent"), u.parent, units, "đơn vị")
        ref(("units", i, "successor"), u.successor, units, "đơn vị")
    problems.extend(_check_successions(plan))
    for i, g in enumerate(plan.groups):
        ref(("groups", i, "parent"), g.parent, units, "đơn vị")
        for j, m in enumerate(g.members):
            ref(("groups", i, "members", j), m, units, "đơn vị")
    for i, p in enumerate(plan.people):
        ref(("people", i, "unit"), p.unit, units, "đơn vị")
    for i, t in enumerate(plan.targets):
        ref(("targets", i, "numerator"), t.numerator, targets, "chỉ tiêu")
        ref(("targets", i, "denominator"), t.denominator, targets, "chỉ tiêu")
    for i, task in enumerate(plan.tasks):
        ref(("tasks", i, "leader"), task.leader, people, "người")
        ref(("tasks", i, "lead_unit"), task.lead_unit, units, "đơn vị")
        for j, c in enumerate(task.coordinating_units):
            ref(("tasks", i, "coordinating_units", j), c, units_or_groups, "đơn vị hoặc nhóm")
        for j, target_code in enumerate(task.targets):
            ref(("tasks", i, "targets", j), target_code, targets, "chỉ tiêu")
    issued = plan.plan.issued_on
    for i, d in enumerate(plan.deliverables):
        if issued is not None and d.due_on < issued:
            problems.append(
                (
                    ("deliverables", i, "due_on"),
                    f"hạn {d.due_on:%d/%m/%Y} đứng trước ngày ban hành kế hoạch {issued:%d/%m/%Y}",
                )
            )
        ref(("deliverables", i, "task"), d.task, tasks, "nhiệm vụ")
        ref(("deliverables", i, "recipient"), d.recipient, units, "đơn vị")
        for j, a in enumerate(d.assignees):
            ref(("deliverables", i, "assignees", j), a, units_or_groups, "đơn vị hoặc nhóm")
    for i, o in enumerate(plan.obligations):
        for j, r in enumerate(o.recipient):
            # A single recipient is written as a scalar: name the field, not an index.
            where: Loc = ("obligations", i, "recipient") + ((j,) if len(o.recipient) > 1 else ())
            ref(where, r, units, "đơn vị")
        ref(("obligations", i, "via"), o.via, people, "người")
        for j, r in enumerate(o.reporters):
            ref(("obligations", i, "reporters", j), r, units_or_groups, "đơn vị hoặc nhóm")
        for j, entry in enumerate(o.target_entries()):
            ref(("obligations", i, "targets", j, "target"), entry.target, targets, "chỉ tiêu")
    return problems


def _check_successions(plan: PlanFile) -> list[tuple[Loc, str]]:
    """A successor starts after its predecessor ends, and no unit succeeds itself."""
    problems: list[tuple[Loc, str]] = []
    units = {u.code: u for u in plan.units}
    for i, u in enumerate(plan.units):
        nxt = units.get(u.successor or "")
        if nxt is None:
            continue
        if u.valid_to is not None and nxt.valid_from is not None and nxt.valid_from <= u.valid_to:
            problems.append(
                (
                    ("units", i, "successor"),
                    f"đơn vị kế thừa {nxt.code!r} bắt đầu ({nxt.valid_from:%d/%m/%Y}) trước khi "
                    f"đơn vị này chấm dứt ({u.valid_to:%d/%m/%Y})",
                )
            )
        seen = {u.code}
        while nxt is not None:
            if nxt.code in seen:
                problems.append((("units", i, "successor"), "chuỗi kế thừa quay vòng"))
                break
            seen.add(nxt.code)
            nxt = units.get(nxt.successor or "")
    return problems


def predecessors(plan: PlanFile, code: str) -> list[str]:
    """Units whose work `code` took over, directly or through earlier mergers, in plan order."""
    by_successor: dict[str, list[str]] = {}
    for u in plan.units:
        if u.successor is not None:
            by_successor.setdefault(u.successor, []).append(u.code)
    found: set[str] = set()
    todo = [code]
    while todo:
        for earlier in by_successor.get(todo.pop(), []):
            if earlier not in found and earlier != code:
                found.add(earlier)
                todo.append(earlier)
    return [u.code for u in plan.units if u.code in found]


def expand_units(plan: PlanFile, codes: list[str]) -> list[str]:
    """Unit codes named directly or through groups, in plan order, without repeats."""
    groups = {g.code: g for g in plan.groups}
    parents = {u.code: u.parent for u in plan.units}
    wanted: set[str] = set()
    for code in codes:
        group = groups.get(code)
        if group is None:
            wanted.add(code)
            continue
        wanted.update(group.members)
        kinds = set(group.kinds)
        wanted.update(
            u.code
            for u in plan.units
            if u.kind in kinds and (group.parent is None or parents.get(u.code) == group.parent)
        )
    return [u.code for u in plan.units if u.code in wanted]
