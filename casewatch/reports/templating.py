"""The Jinja environment of the report templates, shared by every HTML rendering (the
PSG report, the what-if page and the ASB case review figures) so they escape alike."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


@lru_cache(maxsize=1)
def report_templates() -> Environment:
    return Environment(
        loader=PackageLoader("casewatch.reports", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
