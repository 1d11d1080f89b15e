"""Names of the downloadable files, apart from the renderers so naming needs no heavy imports."""

from __future__ import annotations

import re
import unicodedata

from flows.events import DocumentRequest


def filename(request: DocumentRequest, fmt: str) -> str:
    base = unicodedata.normalize("NFKD", request.name or "aanbesteding")
    base = base.encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^A-Za-z0-9]+", "-", base).strip("-").lower()[:60] or "aanbesteding"
    suffix = {"png": "ambitieweb.png", "yaml": "antwoorden.yaml"}.get(fmt, f"ambitie.{fmt}")
    return f"{slug}-{suffix}"
