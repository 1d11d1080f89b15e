"""The summary as Markdown, for wikis and e-mail.

A separate Jinja environment whose `finalize` escapes every value, so a buyer's `*`, `|` or `<`
can never turn into formatting, a broken table or raw HTML. Only what Markdown would act on is
escaped: brackets, parentheses and full stops in running text stay as typed, so the file reads
well as plain text too.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import jinja2

from flows.report.context import Report
from flows.report.words import report_words
from flows.texts import prompts_dir

_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
_LINE_START = re.compile(r"^(\d*)([#+\-=>]|(?<=\d)[.)])")


def md_escape(value: Any) -> str:
    if value is None:
        return ""
    text = " ".join(str(value).split())
    text = _SPECIAL.sub(r"\\\1", text)
    return _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


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
    text = _environment().get_template("summary.md.j2").render(r=report, w=report_words())
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
