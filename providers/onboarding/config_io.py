"""Providers as a file kept in version control: read, validate, plan, import, export.

The format (YAML or JSON, same shape; documented at the top of
``examples/providers.yaml``)::

    version: 1
    providers:
      - name: vllm                      # slug, the key of the upsert
        display_name: {en: ..., vi: ..., zh-hans: ...}   # or one string
        type: custom                    # a catalog key
        base_url: http://localhost:8000/v1
        api_key: {env: VLLM_API_KEY}    # or {file: /run/secrets/key}, or a string (warned)
        extra_headers: {X-Org: {env: ORG_ID}}  # values: strings or secret references
        settings: {...}                 # the provider settings object
        models: [a, b]                  # shorthand for settings.models
        enabled: true

Field names are the API's (``extra_headers``; the old ``headers`` is still read,
with a warning to rename it). A secret reference may add ``optional: true``: when the variable or file is
missing the provider simply has no key. A dry run reports a secret it cannot
resolve here (variable not set, file unreadable or empty) as a finding and
validates the rest as if it were set; a real import refuses it. ``api_key`` left out keeps the stored key
on update; ``api_key: null`` removes it.

Routes (model aliases) may follow in a ``routes`` list: see ``providers.onboarding.route_config``.
A ``gateway_keys:`` list beside ``providers:`` sets gateway keys' scope, limits,
expiry, model allowlist and budgets (``providers/onboarding/key_config.py``).

Import is an upsert by name through ``services.provider_create/update/delete``
inside one transaction: any bad entry rolls everything back, and the error names
the entry and the field. Export writes the same format with every secret
replaced by an ``{env: ...}`` placeholder.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from .. import audit, secret_settings, selectors, services
from ..models import Provider
from . import key_config, route_config
from .config_problems import DRY_RUN_PLACEHOLDER, Problem, check_entry, refused

# ConfigError and problem_lines are part of this module's interface
# (the command and the views catch and word them).
from .config_problems import ConfigError as ConfigError
from .config_problems import problem_lines as problem_lines

ENTRY_FIELDS = {"name", "display_name", "type", "base_url", "api_key", "extra_headers", "settings", "models", "enabled"}
FIELD_NAMES = {"provider_type": "type"}  # service field -> file field
# Old file names -> the API's names. Still read, with a warning, so existing files keep working.
RENAMED_FIELDS = {"headers": "extra_headers"}
_UNSET: Any = object()
SECRET_MAPS = secret_settings.SECRET_MAPS  # settings maps whose values are secrets (references allowed)
@dataclass
class Entry:
    index: int
    name: str
    provider_type: str
    base_url: str = ""
    api_key: Any = _UNSET  # str, None (remove) or _UNSET (keep)
    headers: Any = _UNSET  # dict, None or _UNSET
    settings: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True
    display_name: str = ""
    display_names: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return entry_label(self.index, self.name)


class Entries(list):
    """The providers of a file, and its routes (None: the file has no ``routes`` key)."""

    routes: list[route_config.RouteEntry] | None = None


@dataclass
class Change:
    action: str  # "create", "update", "delete", "unchanged"
    name: str
    fields: list[str] = field(default_factory=list)
    kind: str = "provider"  # or "gateway_key"

    def as_dict(self) -> dict[str, Any]:
        out = {"action": self.action, "name": self.name, "fields": self.fields}
        return out if self.kind == "provider" else {**out, "kind": self.kind}


@dataclass
class ImportResult:
    changes: list[Change]
    warnings: list[str]
    dry_run: bool
    findings: list[Problem] = field(default_factory=list)  # secrets a dry run could not resolve

    def counts(self) -> dict[str, int]:
        out = {"create": 0, "update": 0, "delete": 0, "unchanged": 0}
        for change in self.changes:
            out[change.action] += 1
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "changes": [c.as_dict() for c in self.changes],
            "counts": self.counts(),
            "warnings": self.warnings,
            "findings": [{"entry": e, "field": f, "message": m} for e, f, m in self.findings],
        }


def entry_label(index: int, name: str | None) -> str:
    if name:
        return _("providers[%(index)s] “%(name)s”") % {"index": index, "name": name}
    return _("providers[%(index)s]") % {"index": index}


# -- reading ---------------------------------------------------------------------


def read_text(path: str) -> tuple[str, str]:
    """The file's text and its format ("json" or "yaml"); ``-`` is standard input."""
    import sys

    if path == "-":
        text = sys.stdin.read()
        return text, "json" if text.lstrip().startswith("{") else "yaml"
    text = Path(path).read_text(encoding="utf-8")
    return text, "json" if path.lower().endswith(".json") else "yaml"


def parse_text(text: str, fmt: str) -> Any:
    try:
        if fmt == "json":
            return json.loads(text)
        return yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError([("", "", _("The file is not valid %(format)s: %(error)s") % {
            "format": fmt.upper(), "error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        })]) from None


def _unresolved(problem: Problem, problems: list[Problem], findings: list[Problem] | None) -> Any:
    """A secret missing on this machine: a problem, or in a dry run (``findings`` given) a
    finding, with a placeholder so that the rest of the entry is still validated."""
    if findings is None:
        problems.append(problem)
        return _UNSET
    findings.append(problem)
    return DRY_RUN_PLACEHOLDER


def secrets_root(base_dir: Path | None) -> Path | None:
    """The one directory ``file:`` references may read from: GATEWAY_SECRETS_DIR, else
    the imported file's directory, resolved (symlinks included); None: no file may be read."""
    configured = django_settings.GATEWAY_SECRETS_DIR
    root = Path(configured).expanduser() if configured else base_dir
    return root.resolve() if root is not None else None


def _secret_file(path: str, base_dir: Path | None) -> Path | str:
    """The resolved path of a ``file:`` reference, or why it may not be read."""
    full = Path(path).expanduser()
    if not full.is_absolute() and base_dir is not None:
        full = base_dir / full
    root = secrets_root(base_dir)
    if root is None:
        return _("The file %(path)s cannot be used: set GATEWAY_SECRETS_DIR to the directory that holds "
                 "secret files (a file read from standard input has no directory of its own).") % {"path": path}
    # Resolve first, so neither "../" nor a symlink inside the directory can lead out of it.
    resolved = full.resolve()
    if not resolved.is_relative_to(root):
        return _("The file %(path)s is outside the secrets directory %(dir)s; only files inside "
                 "GATEWAY_SECRETS_DIR (default: the directory of the imported file) can be read.") % {
            "path": path, "dir": root}
    return resolved


def _secret(ref: Any, *, label: str, fld: str, allow_inline: bool, base_dir: Path | None,
            problems: list[tuple[str, str, str]], warnings: list[str], findings: list[Problem] | None = None) -> Any:
    """Resolve a secret reference; return the value, None (no secret) or _UNSET on error."""
    if ref is None:
        return None
    if isinstance(ref, str):
        if not allow_inline:
            warnings.append(_("%(entry)s, field “%(field)s”: the secret is written inline in the file; "
                              "prefer {env: NAME} or {file: PATH}.") % {"entry": label, "field": fld})
        return ref
    if isinstance(ref, dict) and set(ref) <= {"env", "file", "optional"} and (("env" in ref) != ("file" in ref)):
        optional = bool(ref.get("optional", False))
        if "env" in ref:
            var = ref["env"]
            if not isinstance(var, str) or not var:
                problems.append((label, fld, _("“env” must name an environment variable.")))
                return _UNSET
            value = os.environ.get(var)
            if value:
                return value
            if optional:
                return None
            return _unresolved((label, fld, _("The environment variable %(name)s is not set.") % {"name": var}),
                               problems, findings)
        path = ref["file"]
        if not isinstance(path, str) or not path:
            problems.append((label, fld, _("“file” must name a file.")))
            return _UNSET
        full = _secret_file(path, base_dir)
        if isinstance(full, str):  # refused whether optional or not: a clear error, nothing imported
            problems.append((label, fld, full))
            return _UNSET
        try:
            value = full.read_text(encoding="utf-8").strip()
        except OSError:
            if optional:
                return None
            return _unresolved((label, fld, _("The file %(path)s cannot be read.") % {"path": path}), problems,
                               findings)
        if not value:
            if optional:
                return None
            return _unresolved((label, fld, _("The file %(path)s is empty.") % {"path": path}), problems, findings)
        return value
    problems.append((label, fld, _("A secret must be {env: NAME}, {file: PATH} or a string.")))
    return _UNSET


def parse_document(data: Any, *, allow_inline: bool = False, base_dir: Path | None = None,
                   findings: list[Problem] | None = None,
                   keys_out: list[key_config.KeyEntry] | None = None) -> tuple[list[Entry], list[str]]:
    """Validate the document's shape and resolve its secrets. Raise ConfigError naming every problem.
    With ``findings`` (a dry run), secrets missing on this machine are collected there instead.
    The ``gateway_keys`` entries are appended to ``keys_out`` (refused when it is not given)."""
    problems: list[tuple[str, str, str]] = []
    warnings: list[str] = []
    if not isinstance(data, dict) or not isinstance(data.get("providers"), list):
        raise ConfigError([("", "providers", _("The file must be an object with a “providers” list."))])
    unknown_top = set(data) - {"version", "providers", "routes", *(("gateway_keys",) if keys_out is not None else ())}
    if unknown_top:
        problems.append(("", ", ".join(sorted(unknown_top)), _("Unknown top-level key.")))
    version = data.get("version", 1)
    if version != 1:
        problems.append(("", "version", _("Only version 1 is supported.")))
    entries: Entries = Entries()
    if "routes" in data:
        entries.routes = route_config.parse_routes(data["routes"], problems)
    seen: set[str] = set()
    languages = [code for code, _name in django_settings.LANGUAGES]
    for index, raw in enumerate(data["providers"]):
        if not isinstance(raw, dict):
            problems.append((entry_label(index, None), "", _("Each provider must be an object.")))
            continue
        name = raw.get("name")
        label = entry_label(index, name if isinstance(name, str) else None)
        for old, new in RENAMED_FIELDS.items():
            if old in raw and new in raw:
                problems.append((label, old,
                                 _("Use only “%(new)s”; “%(old)s” is its old name.") % {"new": new, "old": old}))
                raw = {key: value for key, value in raw.items() if key != old}
            elif old in raw:
                warnings.append(_("%(entry)s: “%(old)s” is now called “%(new)s”, as in the API; rename it in the file.")
                                % {"entry": label, "old": old, "new": new})
                raw = {(new if key == old else key): value for key, value in raw.items()}
        if not check_entry(raw, name, label, ENTRY_FIELDS, seen, problems) or not isinstance(name, str):
            continue
        ptype = raw.get("type")
        if not isinstance(ptype, str) or not ptype:
            problems.append((label, "type", _("This field is required.")))
            ptype = ""
        base_url = raw.get("base_url") or ""
        if not isinstance(base_url, str):
            problems.append((label, "base_url", _("Must be a string.")))
            base_url = ""
        entry = Entry(index=index, name=name, provider_type=ptype, base_url=base_url)
        enabled = raw.get("enabled", True)
        if not isinstance(enabled, bool):
            problems.append((label, "enabled", _("Must be true or false.")))
        entry.enabled = bool(enabled)
        dn = raw.get("display_name", "")
        if isinstance(dn, str):
            entry.display_name = dn
        elif isinstance(dn, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in dn.items()):
            bad = [k for k in dn if k not in languages]
            if bad:
                problems.append((label, "display_name", _("Unknown language %(codes)s; use %(valid)s.") % {
                    "codes": ", ".join(bad), "valid": ", ".join(languages)}))
            entry.display_name = dn.get(django_settings.LANGUAGE_CODE, "")
            entry.display_names = {k: v for k, v in dn.items() if k in languages}
        else:
            problems.append((label, "display_name", _("Must be a string or an object of strings by language.")))
        settings_value = raw.get("settings", {})
        if settings_value is None:
            settings_value = {}
        if not isinstance(settings_value, dict):
            problems.append((label, "settings", _("Must be an object.")))
            settings_value = {}
        settings_value = dict(settings_value)
        for map_name in SECRET_MAPS:
            if isinstance(settings_value.get(map_name), dict):
                # Plain values are fine here (most are not secrets); references are resolved.
                resolved_map = {}
                for key, ref in settings_value[map_name].items():
                    value = _secret(ref, label=label, fld=f"settings.{map_name}.{key}", allow_inline=True,
                                    base_dir=base_dir, problems=problems, warnings=warnings, findings=findings)
                    if isinstance(value, str):
                        resolved_map[key] = value
                settings_value[map_name] = resolved_map
        if "models" in raw:
            models = raw["models"]
            if not isinstance(models, list) or not all(isinstance(m, str) and m for m in models):
                problems.append((label, "models", _("Must be a list of model names.")))
            else:
                settings_value["models"] = models
        entry.settings = settings_value
        if "api_key" in raw:
            entry.api_key = _secret(raw["api_key"], label=label, fld="api_key", allow_inline=allow_inline,
                                    base_dir=base_dir, problems=problems, warnings=warnings, findings=findings)
        if "extra_headers" in raw:
            headers = raw["extra_headers"]
            if headers is None:
                entry.headers = None
            elif not isinstance(headers, dict):
                problems.append((label, "extra_headers", _("Must be an object of header names to values.")))
            else:
                resolved: dict[str, str] = {}
                for key, ref in headers.items():
                    value = _secret(ref, label=label, fld=f"extra_headers.{key}", allow_inline=allow_inline,
                                    base_dir=base_dir, problems=problems, warnings=warnings, findings=findings)
                    if isinstance(value, str):
                        resolved[str(key)] = value
                entry.headers = resolved
        entries.append(entry)
    if keys_out is not None and "gateway_keys" in data:
        def resolve(ref: Any, label: str, fld: str) -> Any:
            return _secret(ref, label=label, fld=fld, allow_inline=allow_inline, base_dir=base_dir,
                           problems=problems, warnings=warnings, findings=findings)

        keys_out.extend(key_config.parse(data["gateway_keys"], resolve=resolve, problems=problems))
    if problems:
        raise ConfigError(problems)
    return entries, warnings


def load(path: str, *, allow_inline: bool = False, findings: list[Problem] | None = None,
         keys_out: list[key_config.KeyEntry] | None = None) -> tuple[list[Entry], list[str]]:
    text, fmt = read_text(path)
    base_dir = None if path == "-" else Path(path).resolve().parent
    return parse_document(parse_text(text, fmt), allow_inline=allow_inline, base_dir=base_dir, findings=findings,
                          keys_out=keys_out)


# -- planning and importing ---------------------------------------------------------


def _display_names(provider: Provider) -> dict[str, str]:
    out = {}
    for code, _name in django_settings.LANGUAGES:
        value = getattr(provider, f"display_name_{code.replace('-', '_')}", None)
        if value:
            out[code] = value
    return out


def _changed_fields(provider: Provider, entry: Entry) -> list[str]:
    changed = []
    if provider.provider_type != entry.provider_type:
        changed.append("type")
    if (provider.base_url or "") != entry.base_url.strip().rstrip("/"):
        changed.append("base_url")
    if _stored_settings(provider) != entry.settings:
        changed.append("settings")
    if provider.enabled != entry.enabled:
        changed.append("enabled")
    wanted_names = dict(entry.display_names)
    if entry.display_name and not wanted_names:
        wanted_names = {django_settings.LANGUAGE_CODE: entry.display_name}
    if _display_names(provider) != wanted_names:
        changed.append("display_name")
    if entry.api_key is not _UNSET:
        current = provider.api_key or None
        if (entry.api_key or None) != current:
            changed.append("api_key")
    if entry.headers is not _UNSET and (provider.extra_headers or None) != (entry.headers or None):
        changed.append("extra_headers")
    return changed


def _stored_settings(provider: Provider) -> dict[str, Any]:
    return {**(provider.settings or {}), **(provider.secret_settings or {})}


def _declared_settings(provider: Provider, settings: dict[str, Any]) -> dict[str, Any]:
    """The file is the whole truth: a secret name it does not list is removed, though
    services write secret maps per name (left out keeps), so say so with nulls."""
    out = dict(settings)
    for name in SECRET_MAPS:
        stored = (provider.secret_settings or {}).get(name) or {}
        wanted = settings.get(name)
        if isinstance(wanted, dict):
            out[name] = {**{key: None for key in stored}, **wanted}
        elif name not in settings:
            out[name] = None
    return out


def _display_kwargs(entry: Entry, provider: Provider | None = None) -> dict[str, Any]:
    """Names to write: the file's, plus blanks for languages the file no longer names."""
    names = dict(entry.display_names)
    if entry.display_name and not entry.display_names:
        names[django_settings.LANGUAGE_CODE] = entry.display_name
    if provider is not None:
        for lang in _display_names(provider):
            names.setdefault(lang, "")
    display_name = None if provider is not None else names.get(django_settings.LANGUAGE_CODE, "")
    return {"display_name": display_name, "display_names": names}


class _DryRun(Exception):
    pass


def import_entries(entries: list[Entry], *, prune: bool = False, dry_run: bool = False,
                   warnings: list[str] | None = None, keys: list[key_config.KeyEntry] | None = None) -> ImportResult:
    """Upsert ``entries`` (and delete the others when ``prune``), then ``keys``, in one transaction.

    With ``dry_run`` the same writes run and are rolled back, so every service-level
    check applies and nothing changes. ``prune`` never touches gateway keys."""
    changes: list[Change] = []
    try:
        with transaction.atomic(), audit.acting(door="import"):
            existing = {p.name: p for p in Provider.objects.select_for_update().order_by("name")}
            names = {e.name for e in entries}
            for entry in entries:
                provider = existing.get(entry.name)
                try:
                    if provider is None:
                        services.provider_create(
                            name=entry.name,
                            provider_type=entry.provider_type,
                            base_url=entry.base_url,
                            api_key=entry.api_key if isinstance(entry.api_key, str) else None,
                            extra_headers=entry.headers if isinstance(entry.headers, dict) else None,
                            settings=entry.settings,
                            enabled=entry.enabled,
                            **_display_kwargs(entry),
                        )
                        changes.append(Change("create", entry.name))
                        continue
                    changed = _changed_fields(provider, entry)
                    if not changed:
                        changes.append(Change("unchanged", entry.name))
                        continue
                    kwargs: dict[str, Any] = {
                        "provider_type": entry.provider_type,
                        "base_url": entry.base_url,
                        "settings": _declared_settings(provider, entry.settings),
                        "enabled": entry.enabled,
                        **_display_kwargs(entry, provider),
                    }
                    if "api_key" in changed:
                        if entry.api_key:
                            kwargs["api_key"] = entry.api_key
                        else:
                            kwargs["clear_api_key"] = True
                    if "extra_headers" in changed:
                        kwargs["extra_headers"] = entry.headers
                    services.provider_update(provider=provider, **kwargs)
                    changes.append(Change("update", entry.name, changed))
                except ValidationError as exc:
                    raise refused(entry.label, exc, FIELD_NAMES) from None
            if prune:
                for name, provider in existing.items():
                    if name not in names:
                        services.provider_delete(provider=provider)
                        changes.append(Change("delete", name))
            routes = getattr(entries, "routes", None)
            if routes is not None:
                changes.extend(Change(action, f"route:{name}", fields)
                               for action, name, fields in route_config.import_routes(routes, prune=prune))
            if keys:
                key_config.import_keys(keys, lambda action, name, fields: changes.append(
                    Change(action, name, fields, kind="gateway_key")))
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return ImportResult(changes=changes, warnings=list(warnings or []), dry_run=dry_run)


def import_file(path: str, *, prune: bool = False, dry_run: bool = False, allow_inline: bool = False) -> ImportResult:
    findings: list[Problem] | None = [] if dry_run else None
    keys: list[key_config.KeyEntry] = []
    entries, warnings = load(path, allow_inline=allow_inline, findings=findings, keys_out=keys)
    result = import_entries(entries, prune=prune, dry_run=dry_run, warnings=warnings, keys=keys)
    result.findings = findings or []
    return result


# -- exporting ---------------------------------------------------------------------


def env_name(provider_name: str, suffix: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", f"{provider_name}_{suffix}".upper()).strip("_")


def export_document(providers: list[Provider] | None = None) -> dict[str, Any]:
    """The catalog in the file format, with every secret as an ``{env: ...}`` placeholder."""
    rows = list(providers if providers is not None else selectors.provider_list())
    out = []
    for p in rows:
        entry: dict[str, Any] = {"name": p.name}
        names = _display_names(p)
        if set(names) - {django_settings.LANGUAGE_CODE}:
            entry["display_name"] = names
        elif names:
            entry["display_name"] = names[django_settings.LANGUAGE_CODE]
        entry["type"] = p.provider_type
        if p.base_url:
            entry["base_url"] = p.base_url
        if p.has_api_key:
            entry["api_key"] = {"env": env_name(p.name, "API_KEY")}
        headers = p.extra_headers or {}
        if headers:
            entry["extra_headers"] = {k: {"env": env_name(p.name, f"HEADER_{k}")} for k in sorted(headers)}
        settings_value = dict(p.settings or {})
        secret_maps = p.secret_settings or {}
        if secret_maps.get("env"):
            # A subprocess's environment: refer to variables of the same name.
            settings_value["env"] = {k: {"env": k} for k in sorted(secret_maps["env"])}
        if secret_maps.get("extra_query"):
            # Query values are secrets (?key=...): references only, never a value.
            settings_value["extra_query"] = {k: {"env": env_name(p.name, f"QUERY_{k}")}
                                             for k in sorted(secret_maps["extra_query"])}
        models = settings_value.pop("models", None)
        if settings_value:
            entry["settings"] = settings_value
        if models is not None:
            entry["models"] = models
        entry["enabled"] = p.enabled
        out.append(entry)
    document: dict[str, Any] = {"version": 1, "providers": out}
    if providers is None and route_config.routes_exist():
        document["routes"] = route_config.export_routes()
    if providers is None and (keys := key_config.export_keys()):
        document["gateway_keys"] = keys
    return document


def dump(document: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False)
