"""Reading an OpenAI chat message's ``content`` (a string, or a list of parts):
the one helper every translating adapter uses for its text, and the error a
request that cannot be translated raises."""
from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

TEXT_PARTS = ("text", "input_text", "output_text")


class TranslationError(ValueError):
    """A request the backend's wire cannot express; answered 400 with ``param``."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


def content_text(content: Any, *, param: str | None = None, sep: str = "\n", image: str = "") -> str:
    """The text of a chat message's ``content``: a string, or its text parts joined by ``sep``.

    Lenient without ``param`` (what only needs the words, e.g. an agent's prompt): a
    part that is not text is left out, an ``image_url`` part becomes ``image``, and
    content of another kind its ``str``. Strict with ``param`` (what must carry the
    content over exactly): a part that is not text raises ``TranslationError`` naming
    it (``{param}.content[i]``), and so does content that is not a string or a list."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        if param is None:
            return str(content)
        raise TranslationError(_("Message content must be a string or an array of content parts."), param)
    parts: list[str] = []
    for i, part in enumerate(content):
        if isinstance(part, str):
            parts.append(part)
            continue
        ptype = part.get("type") if isinstance(part, dict) else None
        if isinstance(part, dict) and ptype in TEXT_PARTS:
            parts.append(str(part.get("text") or ""))
        elif isinstance(part, dict) and ptype == "refusal":
            parts.append(str(part.get("refusal") or ""))
        elif param is None:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif ptype == "image_url":
                parts.append(image)
        else:
            raise TranslationError(
                _("The content part type “%(type)s” is not supported by this provider.") % {"type": ptype},
                f"{param}.content[{i}]",
            )
    return sep.join(p for p in parts if p)
