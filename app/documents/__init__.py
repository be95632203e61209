"""Standard enforcement documents (执法文书): templates as data, field binding, one renderer.

- :mod:`.template` — the template format (resources/templates/README.md), loading and validation.
- :mod:`.fields` — the fields a template may use; :mod:`.binding` gathers them for a case.
- :mod:`.render` — the one reportlab renderer; :mod:`.fonts` — the faces it embeds.

``render_case_document`` is the whole path for a caller that has a case and a type code.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

from sqlalchemy.orm import Session

from app.auth.roles import Actor
from app.documents.binding import document_data
from app.documents.render import UNNUMBERED, RenderResult, SealMark, render
from app.documents.template import Template, document_types, load_template, parse_template, read_template


def render_case_document(
    session: Session,
    actor: Actor,
    case_id: str,
    doc_type: str,
    out: Path | str | IO[bytes],
    *,
    number: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> RenderResult:
    """The ``doc_type`` document of a case drawn into ``out`` (number: the issued 文号, if any)."""
    template = load_template(doc_type)
    data = document_data(
        session, actor, case_id, doc_type, number=number, overrides=overrides, template=template
    )
    return render(template, data, out)


__all__ = [
    "UNNUMBERED",
    "RenderResult",
    "SealMark",
    "Template",
    "document_data",
    "document_types",
    "load_template",
    "parse_template",
    "read_template",
    "render",
    "render_case_document",
]
