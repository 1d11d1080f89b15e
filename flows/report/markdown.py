"""The summary as Markdown, for wikis and e-mail.

A separate Jinja environment whose `finalize` escapes every value for Markdown, so a buyer's `*`,
`|` or `<` can never turn into formatting, a broken table or raw HTML.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import jinja2

from flows.report.context import Report
from flows.texts import prompts_dir

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def md_escape(value: Any) -> str:
    if value is None:
        return ""
    text = " ".join(str(value).split())
    text = _SPECIAL.sub(r"\\\1", text)
    return re.sub(r"^(\d+)\.", r"\1\\.", text).replace("&", "&amp;")


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(prompts_dir() / "templates")),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=md_escape,
    )


def report_markdown(report: Report) -> str:
    text = _environment().get_template("summary.md.j2").render(r=report)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
