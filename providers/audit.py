"""The audit trail: every change to a registered model, from any door, in its admin History.

How it works: model signals (``pre_save``/``post_save``/``post_delete``/``m2m_changed``)
compare each write with the stored row and write one ``django.contrib.admin`` ``LogEntry``
with the fields that changed. Because it sits under the services (and catches direct
``save()`` calls too), every door is covered once: the admin, the REST API, config
import, the probe's "apply findings", the connection test's "use this URL",
fetch-models, key rotation and ``manage.py`` commands. ``QuerySet.update()`` and raw
SQL bypass signals; the one place that writes audited rows that way on purpose
(``rotate_encryption_key``) calls :func:`record` itself.

Who did it comes from the innermost :func:`acting` scope:

- web requests: :class:`AuditMiddleware` puts the request in scope; the user is read
  when the entry is written, so DRF's token/session user counts too;
- ``manage.py`` commands: :class:`AuditedCommand` (and ``manage.py`` itself for any other
  command, e.g. ``shell``) name the actor ``manage.py <command>``;
- doors inside those add their name: ``with audit.acting(door="import"):``.

Where no user exists, the entry belongs to an inactive service account
(:data:`SYSTEM_USERNAME`) and names the actor in its message. Secret fields are
compared but their values are never written: the entry says only that they changed
(and, for maps of secrets, which names changed).

Registering another model is one line: ``audit.register(Route)``; its admin
inherits :class:`AuditedAdmin` (a system check says so when it does not).
"""
from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.utils.text import get_text_list
from django.utils.translation import gettext, override
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.contrib.admin.models import LogEntry

# django.contrib.admin.models' action flags (importable before Django is set up, for manage.py).
ADDITION, CHANGE, DELETION = 1, 2, 3

SYSTEM_USERNAME = "(gateway)"  # not a valid username in any form: no person can take it

# Door codes stored in entries, with their (translated at display time) labels.
DOORS: dict[str, Any] = {
    "admin": _("admin"),
    "api": _("REST API"),
    "import": _("config import"),
    "probe-apply": _("probe: apply findings"),
    "use-url": _("connection test: use this URL"),
    "fetch-models": _("fetch models"),
    "key-rotation": _("key rotation"),
    "encryption": _("encryption key rotation"),
    "command": _("command line"),
    "system": _("gateway"),
}


@dataclass(frozen=True)
class Audited:
    """How one model is audited: which fields are secrets, which are not worth an entry."""

    secret: frozenset[str] = frozenset()
    skip: frozenset[str] = frozenset()
    labels: dict[str, str] = field(default_factory=dict)  # field name -> English label (a msgid)


_registry: dict[type[models.Model], Audited] = {}


def register(model: type[models.Model], *, secret: Iterable[str] = (), skip: Iterable[str] = (),
             labels: dict[str, str] | None = None) -> None:
    """Audit every change to ``model``. ``secret``: fields whose values are never written;
    ``skip``: fields whose changes are not audited (timestamps, counters)."""
    auto = {f.name for f in model._meta.concrete_fields
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)}
    _registry[model] = Audited(frozenset(secret), frozenset(skip) | auto, dict(labels or {}))
    uid = f"audit:{model._meta.label}"
    pre_save.connect(_pre_save, sender=model, dispatch_uid=uid)
    post_save.connect(_post_save, sender=model, dispatch_uid=uid)
    post_delete.connect(_post_delete, sender=model, dispatch_uid=uid)
    for m2m in model._meta.many_to_many:
        m2m_changed.connect(_m2m_changed, sender=m2m.remote_field.through, dispatch_uid=f"{uid}.{m2m.name}")


def is_registered(model: type[models.Model]) -> bool:
    return model in _registry


# -- who is acting ---------------------------------------------------------------------


@dataclass
class _Scope:
    request: Any = None
    user: Any = None
    actor: str = ""
    door: str = ""
    # (content type id, pk) -> the CHANGE entry written in this scope, so a key's
    # save() and its providers.set() make one entry, not two.
    entries: dict[tuple[int, str], Any] = field(default_factory=dict)


_scope: ContextVar[_Scope | None] = ContextVar("audit_scope", default=None)
_process_actor = ""


def set_process_actor(actor: str) -> None:
    """The actor for writes outside any scope in this process (``manage.py`` sets it)."""
    global _process_actor
    _process_actor = actor


@contextlib.contextmanager
def acting(*, request: Any = None, user: Any = None, actor: str = "", door: str = "") -> Iterator[None]:
    """Attribute the writes inside to ``request``'s user (or ``user``, or ``actor``), through ``door``.

    Scopes nest: what an inner scope leaves out comes from the outer one."""
    outer = _current()
    scope = _Scope(
        request=request if request is not None else outer.request,
        user=user if user is not None else outer.user,
        actor=actor or outer.actor,
        door=door or outer.door,
    )
    token = _scope.set(scope)
    try:
        yield
    finally:
        _scope.reset(token)


def _current() -> _Scope:
    return _scope.get() or _Scope(actor=_process_actor, door="command" if _process_actor else "system")


def _user_of(scope: _Scope) -> Any:
    user = scope.user
    if user is None and scope.request is not None:
        user = getattr(scope.request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return user
    return None


def system_user() -> Any:
    from django.contrib.auth import get_user_model

    User = get_user_model()
    username_field = str(User.USERNAME_FIELD)
    user = User._default_manager.filter(**{username_field: SYSTEM_USERNAME}).first()
    if user is None:
        user = User(**{username_field: SYSTEM_USERNAME}, is_active=False)
        user.set_unusable_password()
        user.save()
    return user


class AuditMiddleware:
    """Puts each web request in an audit scope (its user is read when an entry is written).

    Sync and async: no thread hop of its own. Changes no response."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        import asyncio

        from asgiref.sync import markcoroutinefunction

        self.get_response = get_response
        self.is_async = asyncio.iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: Any) -> Any:
        if self.is_async:
            return self.__acall__(request)
        with acting(request=request, door=_door_of_path(request.path_info)):
            return self.get_response(request)

    async def __acall__(self, request: Any) -> Any:
        with acting(request=request, door=_door_of_path(request.path_info)):
            return await self.get_response(request)


def _door_of_path(path: str) -> str:
    if path.startswith("/api/"):
        return "api"
    if path.startswith("/admin/"):
        return "admin"
    return "system"


class AuditedCommand:
    """Mixin for management commands: their writes are by ``manage.py <command name>``."""

    def execute(self, *args: Any, **options: Any) -> Any:
        name = type(self).__module__.rsplit(".", 1)[-1]
        with acting(actor=f"manage.py {name}", door="command"):
            return super().execute(*args, **options)  # type: ignore[misc]


class AuditedAdmin:
    """ModelAdmin mixin: the audit trail already wrote the entry (with the fields that
    changed and no secret), so the admin's own generic entries are not written twice;
    the History page shows the actor and the door."""

    object_history_template: ClassVar[Any] = "admin/audit_history.html"

    # No LogEntry is written (the audit trail wrote its own), so these answer None.
    def log_addition(self, request: Any, obj: Any, message: Any) -> Any:
        return None

    def log_change(self, request: Any, obj: Any, message: Any) -> Any:
        return None

    def log_deletions(self, request: Any, queryset: Any) -> Any:
        return None


# -- what changed ----------------------------------------------------------------------


def _label(model: type[models.Model], name: str) -> str:
    """The field's English label, stored as a msgid and translated when shown (as Django does)."""
    config = _registry[model]
    if name in config.labels:
        return config.labels[name]
    with override(None):
        return str(getattr(model._meta.get_field(name), "verbose_name", name))


def _changed_keys(old: Any, new: Any) -> list[str]:
    """Names that differ between two maps (one level down for maps of maps, as ``env.NAME``)."""
    old, new = old if isinstance(old, dict) else {}, new if isinstance(new, dict) else {}
    names: list[str] = []
    for key in sorted(set(old) | set(new), key=str):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, dict) or isinstance(b, dict):
            names.extend(f"{key}.{sub}" for sub in _changed_keys(a, b))
        else:
            names.append(str(key))
    return names


_EMPTY = (None, "")
_UNKNOWN = object()  # a stored secret no configured key can read


def _stored(model: type[models.Model], pk: Any) -> dict[str, Any] | None:
    from .crypto import DecryptionError

    try:
        row = model._base_manager.filter(pk=pk).first()
    except DecryptionError:
        encrypted = [f.name for f in model._meta.concrete_fields if f.get_internal_type() == "BinaryField"]
        row = model._base_manager.filter(pk=pk).defer(*encrypted).first()
        if row is None:
            return None
        values = {f.name: f.value_from_object(row) for f in model._meta.concrete_fields if f.name not in encrypted}
        return values | dict.fromkeys(encrypted, _UNKNOWN)
    if row is None:
        return None
    return {f.name: f.value_from_object(row) for f in model._meta.concrete_fields}


def _pre_save(sender: type[models.Model], instance: models.Model, raw: bool = False, **kwargs: Any) -> None:
    if raw or instance._state.adding or instance.pk is None:
        instance._audit_before = None  # type: ignore[attr-defined]
        return
    instance._audit_before = _stored(sender, instance.pk)  # type: ignore[attr-defined]


def _post_save(sender: type[models.Model], instance: models.Model, created: bool = False, raw: bool = False,
               update_fields: Any = None, **kwargs: Any) -> None:
    if raw:
        return
    before = getattr(instance, "_audit_before", None)
    instance._audit_before = None  # type: ignore[attr-defined]
    if created or before is None:
        _write(sender, instance, ADDITION, {})
        return
    config = _registry[sender]
    changes: dict[str, list[str] | None] = {}
    for f in sender._meta.concrete_fields:
        if f.name in config.skip or (update_fields is not None and f.name not in update_fields):
            continue
        old, new = before.get(f.name), f.value_from_object(instance)
        if old is not _UNKNOWN and (old == new or (old in _EMPTY and new in _EMPTY)):
            continue  # "" and None are the same blank (a form writes one over the other)
        changes[f.name] = _changed_keys(old, new) if isinstance(old, dict) or isinstance(new, dict) else None
    if changes:
        _write(sender, instance, CHANGE, changes)


def _post_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    _write(sender, instance, DELETION, {})


def _m2m_changed(sender: Any, instance: models.Model, action: str, reverse: bool, model: Any,
                 pk_set: set[Any] | None, **kwargs: Any) -> None:
    owner = type(instance)
    if reverse or owner not in _registry:
        return
    name = next((m.name for m in owner._meta.many_to_many if m.remote_field.through is sender), None)
    if name is None or name in _registry[owner].skip:
        return
    if action == "pre_clear":
        instance._audit_cleared = [str(o) for o in getattr(instance, name).all()]  # type: ignore[attr-defined]
        return
    names: list[str]
    if action == "post_clear":
        names = getattr(instance, "_audit_cleared", [])
        sign = "-"
    elif action in ("post_add", "post_remove") and pk_set:
        names = [str(o) for o in model._base_manager.filter(pk__in=pk_set)]
        sign = "+" if action == "post_add" else "-"
    else:
        return
    if names:
        _write(owner, instance, CHANGE, {name: [f"{sign}{n}" for n in sorted(names)]})


def _write(model: type[models.Model], instance: models.Model, flag: int, changes: dict[str, list[str] | None]) -> None:
    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    scope = _scope.get()
    current = scope or _current()
    ct = ContentType.objects.get_for_model(model, for_concrete_model=False)
    key = (ct.pk, str(instance.pk))
    secret = _registry[model].secret
    details: dict[str, list[str]] = {}
    for name, keys in changes.items():
        if keys:
            details[_label(model, name)] = keys
    audit = {
        "door": current.door or "system",
        "actor": current.actor,
        "details": details,
        "secrets": [_label(model, n) for n in changes if n in secret],
    }
    existing = scope.entries.get(key) if scope is not None and flag != DELETION else None
    if existing is not None and (flag == ADDITION or existing.action_flag == ADDITION):
        return  # what follows a creation in the same scope is part of it
    if existing is not None:
        entry = existing  # one entry per object and scope: merge into it
        old = _audit_part(entry)
        fields = [f for f in _changed_fields(entry) if f not in {_label(model, n) for n in changes}]
        audit["details"] = old.get("details", {}) | details
        audit["secrets"] = sorted(set(old.get("secrets", [])) | set(audit["secrets"]))
        entry.change_message = _message(flag, fields + [_label(model, n) for n in changes], audit)
        entry.save(update_fields=["change_message"])
        return
    user = _user_of(current)
    entry = LogEntry.objects.create(
        user=user or system_user(),
        content_type_id=ct.pk,
        object_id=str(instance.pk),
        object_repr=str(instance)[:200],
        action_flag=flag,
        change_message=_message(flag, [_label(model, n) for n in changes], audit),
    )
    if scope is not None and flag != DELETION:
        scope.entries[key] = entry


def _message(flag: int, fields: list[str], audit: dict[str, Any]) -> str:
    parts: list[dict[str, Any]] = []
    if flag == ADDITION:
        parts.append({"added": {}})
    elif flag == CHANGE:
        parts.append({"changed": {"fields": fields}})
    parts.append({"audit": audit})
    return json.dumps(parts)


def _parts(entry: LogEntry) -> list[dict[str, Any]]:
    try:
        parts = json.loads(entry.change_message or "[]")
    except ValueError:
        return []
    return [p for p in parts if isinstance(p, dict)] if isinstance(parts, list) else []


def _audit_part(entry: LogEntry) -> dict[str, Any]:
    return next((p["audit"] for p in _parts(entry) if isinstance(p.get("audit"), dict)), {})


def _changed_fields(entry: LogEntry) -> list[str]:
    return next((list(p["changed"].get("fields", [])) for p in _parts(entry) if isinstance(p.get("changed"), dict)), [])


def record(model: type[models.Model], instance: models.Model, *, changed: Iterable[str], door: str) -> None:
    """Write an entry for a change made without ``save()`` (raw SQL): ``changed`` names fields."""
    if model not in _registry:
        return
    with acting(door=door):
        _write(model, instance, CHANGE, dict.fromkeys(changed))


# -- how an entry reads ----------------------------------------------------------------


def describe(entry: LogEntry) -> str:
    """The entry's action in the active language, secrets marked as such (never a value)."""
    audit = _audit_part(entry)
    if not audit:
        return entry.get_change_message()
    if entry.action_flag == ADDITION:
        return gettext("Added.")
    if entry.action_flag == DELETION:
        return gettext("Deleted.")
    details, secrets = audit.get("details", {}), set(audit.get("secrets", []))
    pieces = []
    for label in _changed_fields(entry):
        name = gettext(label)
        keys = details.get(label)
        if label in secrets and keys:
            pieces.append(gettext("%(field)s (%(names)s; values not shown)")
                          % {"field": name, "names": ", ".join(keys)})
        elif label in secrets:
            pieces.append(gettext("%(field)s (value not shown)") % {"field": name})
        elif keys:
            pieces.append(gettext("%(field)s (%(names)s)") % {"field": name, "names": ", ".join(keys)})
        else:
            pieces.append(name)
    if not pieces:
        return gettext("No fields changed.")
    # Django's own admin message (translated in its catalogs), as on any other History.
    return gettext("Changed {fields}.").format(fields=get_text_list(pieces, gettext("and")))


def actor(entry: LogEntry) -> str:
    """Who: the user, or the named actor (``manage.py providers``) when no user acted."""
    user = entry.user
    if user.get_username() != SYSTEM_USERNAME:
        full = getattr(user, "get_full_name", str)()
        return f"{user.get_username()} ({full})" if full else user.get_username()
    return _audit_part(entry).get("actor") or str(DOORS["system"])


def door(entry: LogEntry) -> str:
    """Through which door (admin, REST API, config import...), in the active language."""
    code = _audit_part(entry).get("door", "")
    return str(DOORS.get(code, code))


def check_admins(app_configs: Any = None, **kwargs: Any) -> list[Any]:
    """System check: an audited model's admin must inherit :class:`AuditedAdmin`, or each
    admin change would be logged twice (once without the audit's details)."""
    from django.contrib import admin
    from django.core.checks import Error

    return [
        Error(f"{model._meta.label} is audited but its admin does not inherit providers.audit.AuditedAdmin.",
              obj=type(model_admin), id="providers.E101")
        for model, model_admin in admin.site._registry.items()
        if model in _registry and not isinstance(model_admin, AuditedAdmin)
    ]
