"""The one catalog of fixed report words (`prompts/report_docx.yaml`), for every output format.

Plain text with `{name}` fields: Word, Markdown, JSON and the chart show each character as written,
and the chat template escapes it like any other value.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from flows.texts import yaml_section

CATALOG = "report_docx.yaml"


class Words:
    """One section of the catalog, looked up by dotted key; a missing key is a clear error."""

    def __init__(self, raw: Mapping[str, Any], source: str) -> None:
        self._raw = raw
        self._source = source

    def find(self, key: str) -> Any:
        node: Any = self._raw
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                raise KeyError(f"{self._source}: {key} ontbreekt")
            node = node[part]
        return node

    def __call__(self, key: str, **fields: object) -> str:
        value = self.find(key)
        if not isinstance(value, str):
            raise KeyError(f"{self._source}: {key} moet een tekst zijn")
        text = " ".join(value.split())
        return text.format(**fields) if fields else text

    def items(self, key: str) -> tuple[str, ...]:
        value = self.find(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise KeyError(f"{self._source}: {key} moet een lijst teksten zijn")
        return tuple(value)

    def mapping(self, key: str) -> Mapping[str, str]:
        value = self.find(key)
        if not isinstance(value, Mapping):
            raise KeyError(f"{self._source}: {key} moet een mapping zijn")
        return {str(k): str(v) for k, v in value.items()}


@functools.cache
def report_words() -> Words:
    section, path = yaml_section(CATALOG, "report")
    return Words(section, f"{path}: report")
