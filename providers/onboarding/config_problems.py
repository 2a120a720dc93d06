"""What an import found wrong with a configuration file: problems as (entry, field,
message) triples, the error that carries them, and the checks every section's entries
share (providers, gateway keys, routes). Below ``config_io`` and the section modules,
which all import it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Stands in for an unresolved secret during a dry run, so the entry is validated as if it were set.
DRY_RUN_PLACEHOLDER = "unresolved-secret-dry-run"
Problem = tuple[str, str, str]  # (entry, field, message)


def problem_lines(problems: list[Problem]) -> list[str]:
    out = []
    for entry, fld, message in problems:
        if entry and fld:
            out.append(_("%(entry)s, field “%(field)s”: %(message)s")
                       % {"entry": entry, "field": fld, "message": message})
        elif entry:
            out.append(_("%(entry)s: %(message)s") % {"entry": entry, "message": message})
        else:
            out.append(message)
    return out


class ConfigError(Exception):
    """The file cannot be imported. ``problems`` are (entry, field, message) triples."""

    def __init__(self, problems: list[tuple[str, str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(self.lines()))

    def lines(self) -> list[str]:
        return problem_lines(self.problems)


def check_entry(raw: dict[str, Any], name: Any, label: str, valid: set[str], seen: set[str],
                problems: list[Problem]) -> bool:
    """An entry's unknown fields and a missing or repeated name, as problems; False
    when it has no name (nothing else of it can be checked)."""
    for key in sorted(set(raw) - valid, key=str):
        problems.append((label, str(key),
                         _("Unknown field. Valid fields: %(valid)s.") % {"valid": ", ".join(sorted(valid))}))
    if not isinstance(name, str) or not name:
        problems.append((label, "name", _("This field is required.")))
        return False
    if name in seen:
        problems.append((label, "name", _("The name appears more than once in the file.")))
    seen.add(name)
    return True


def named_entries(items: list[Any], *, label: Callable[[int, str | None], str], not_an_object: str,
                  valid: set[str], problems: list[Problem]) -> Iterator[tuple[int, str, str, dict[str, Any]]]:
    """(index, name, label, entry) for each entry of a section's list that is an object with
    a name, to be checked further; what ``check_entry`` finds, and an entry that is not an
    object (``not_an_object``), are problems."""
    seen: set[str] = set()
    for index, raw in enumerate(items):
        if not isinstance(raw, dict):
            problems.append((label(index, None), "", not_an_object))
            continue
        name = raw.get("name")
        entry_label = label(index, name if isinstance(name, str) else None)
        if check_entry(raw, name, entry_label, valid, seen, problems) and isinstance(name, str):
            yield index, name, entry_label, raw


def refused(label: str, exc: ValidationError, field_names: Mapping[str, str] | None = None) -> ConfigError:
    """A service's refusal of one entry as the file's problems (``field_names``: the
    service's field names that the file spells otherwise)."""
    names = field_names or {}
    if hasattr(exc, "error_dict"):
        return ConfigError([(label, names.get(fld, fld), message)
                            for fld, messages in exc.message_dict.items() for message in messages])
    return ConfigError([(label, "", message) for message in exc.messages])
