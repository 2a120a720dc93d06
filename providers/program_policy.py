"""Which programs, arguments and environment a program-based provider may use.

The deployment decides, never a row that staff can edit:

- ``GATEWAY_ALLOWED_COMMANDS``: absolute paths or names looked up on ``PATH``
  (default ``claude,claude-agent-acp``). A provider's ``command`` is accepted when
  it resolves (on the ``PATH`` its child gets) to the same file as one of them, so
  ``/tmp/x/claude`` is not ``claude``. A listed name that is not installed yet may
  be saved; it fails with "not found" when run.
- ``GATEWAY_ALLOW_AGENT_TOOLS`` (default off): without it, arguments that give the
  Claude CLI its own tools or bypass its permission prompts, an ACP
  ``permission_policy`` of ``allow``, a ``cwd`` setting and variables that choose
  where the agent reads its configuration (hooks, MCP servers) are refused.
- Variables that change how a program is loaded or started (``LD_*``, ``DYLD_*``,
  ``PATH``, ``PYTHONPATH``, ``NODE_OPTIONS``...) are always refused.

``problems()`` runs when a provider is saved (``provider_settings``) and again
before each child starts (``subprocess_util``), so rows saved under an older or
wider policy are refused too.
"""
from __future__ import annotations

import os
import shutil
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

# Claude CLI options that turn on tools, load other settings, or resume other sessions.
CLAUDE_TOOL_OPTIONS = frozenset({
    "--allowedTools", "--allowed-tools", "--tools", "--dangerously-skip-permissions",
    "--allow-dangerously-skip-permissions", "--permission-mode", "--permission-prompt-tool", "--add-dir",
    "--mcp-config", "--settings", "--setting-sources", "--plugin-dir", "--agents", "--continue", "--resume",
    "--fork-session", "--ide",
})
CLAUDE_TOOL_SHORT = frozenset("cr")  # -c (continue), -r (resume), also inside clusters such as -pc
TOOL_OPTIONS: dict[str, frozenset[str]] = {"claude_cli": CLAUDE_TOOL_OPTIONS}

# Change what a program loads or runs before its own code: never settable.
LOADER_PREFIXES = ("LD_", "DYLD_")
LOADER_VARIABLES = frozenset({
    "PATH", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "PYTHONINSPECT", "NODE_OPTIONS",
    "NODE_PATH", "BASH_ENV", "ENV", "SHELLOPTS", "PERL5LIB", "PERL5OPT", "PERLLIB", "RUBYLIB", "RUBYOPT",
    "GCONV_PATH", "HOSTALIASES", "GIT_EXEC_PATH", "GIT_CONFIG_GLOBAL",
})
# Choose where an agent reads its configuration (and so its hooks, tools, MCP servers).
CONFIG_VARIABLES = frozenset({"HOME", "CLAUDE_CONFIG_DIR", "XDG_CONFIG_HOME"})


def child_path() -> str:
    """The PATH a child runs with (the ``env`` setting cannot change it)."""
    return os.environ.get("PATH", os.defpath)


def resolve(command: str, path: str | None) -> str | None:
    """The executable file ``command`` names, or None. Relative paths are never resolved."""
    if os.sep in command:
        if os.path.isabs(command) and os.path.isfile(command) and os.access(command, os.X_OK):
            return command
        return None
    return shutil.which(command, path=path)


def _allowed_files(path: str | None) -> set[str]:
    files = set()
    for entry in settings.GATEWAY_ALLOWED_COMMANDS:
        found = resolve(entry, path)
        if found:
            files.add(os.path.realpath(found))
    return files


def command_allowed(command: str, path: str | None) -> bool:
    found = resolve(command, path)
    if found is None:
        return command in settings.GATEWAY_ALLOWED_COMMANDS
    return os.path.realpath(found) in _allowed_files(path)


def command_refused_message(command: str) -> str:
    return _("“%(command)s” is not a program this gateway may run. The deployment lists the allowed programs "
             "in GATEWAY_ALLOWED_COMMANDS.") % {"command": command}


def _tool_option(provider_type: str, arg: str) -> bool:
    options = TOOL_OPTIONS.get(provider_type)
    if not options:
        return False
    if arg.split("=", 1)[0] in options:
        return True
    return arg[:1] == "-" and arg[1:2] != "-" and arg[1:].isalpha() and bool(CLAUDE_TOOL_SHORT & set(arg[1:]))


def problems(provider_type: str, values: dict[str, Any], path: str | None = None) -> dict[str, str]:
    """Setting name to message, for a program-based provider's effective settings ({} when fine)."""
    found: dict[str, str] = {}
    tools = settings.GATEWAY_ALLOW_AGENT_TOOLS
    command = values.get("command")
    if isinstance(command, str) and command.strip() and not command_allowed(command, path or child_path()):
        found["command"] = command_refused_message(command)
    args = values.get("args")
    if isinstance(args, list) and not tools:
        bad = [a for a in args if isinstance(a, str) and _tool_option(provider_type, a)]
        if bad:
            found["args"] = _("The argument “%(arg)s” gives the agent its own tools or bypasses its permissions; "
                              "the deployment allows it with GATEWAY_ALLOW_AGENT_TOOLS=true.") % {"arg": bad[0]}
    env = values.get("env")
    if isinstance(env, dict):
        for name in sorted(k for k in env if isinstance(k, str)):
            upper = name.upper()
            if upper in LOADER_VARIABLES or upper.startswith(LOADER_PREFIXES):
                found["env"] = _("The variable %(name)s cannot be set: it changes how the program is loaded.") % {
                    "name": name}
                break
            if upper in CONFIG_VARIABLES and not tools:
                found["env"] = _("The variable %(name)s chooses where the agent reads its configuration; "
                                 "the deployment allows it with GATEWAY_ALLOW_AGENT_TOOLS=true.") % {"name": name}
                break
    if values.get("cwd") is not None and not tools:
        found["cwd"] = _("A working directory lets the agent read a project's files and configuration; "
                         "the deployment allows it with GATEWAY_ALLOW_AGENT_TOOLS=true.")
    if values.get("permission_policy") not in (None, "deny") and not tools:
        found["permission_policy"] = _("The permission policy “%(value)s” lets the agent use its tools; "
                                       "the deployment allows it with GATEWAY_ALLOW_AGENT_TOOLS=true.") % {
            "value": values.get("permission_policy")}
    return found
