"""Security response headers, set once for every answer the application sends.

casewatch's pages and API answers carry special-category personal data, often read on
shared office computers: nothing may be framed, sniffed, cached or leak its address in a
Referer, and a page may run only the scripts and styles casewatch serves itself. The list
follows OWASP ASVS 4.0.3 section V14.4 (HTTP security headers). The hook runs on every
response start, errors and 404s included, so no route can forget it.
"""

from __future__ import annotations

from typing import Final

from litestar.types import Message, Scope

# No inline script or style anywhere: the pages' one script is /static/casewatch.js.
PAGE_POLICY: Final = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# The interactive API reference (no case data) loads its viewer from the vendor's CDN and
# styles itself inline; it still runs no inline script and cannot be framed.
DOCS_CDN: Final = "https://cdn.jsdelivr.net"
DOCS_POLICY: Final = (
    f"default-src 'self'; script-src 'self' {DOCS_CDN}; "
    f"style-src 'self' 'unsafe-inline' {DOCS_CDN}; img-src 'self' data: {DOCS_CDN}; "
    f"font-src 'self' data: {DOCS_CDN}; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_PATHS: Final = frozenset({"/api", "/api/scalar"})
STATIC_PREFIX: Final = "/static/"
HSTS: Final = "max-age=31536000"

COMMON: Final = (
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-opener-policy", "same-origin"),
)


def security_headers(path: str, scheme: str) -> list[tuple[str, str]]:
    """The headers for an answer to `path`: every answer but the static files (which
    hold no case data) is `no-store`; HSTS only means something over https."""
    policy = DOCS_POLICY if path in DOCS_PATHS else PAGE_POLICY
    headers = [("content-security-policy", policy), *COMMON]
    if not path.startswith(STATIC_PREFIX):
        headers.append(("cache-control", "no-store"))
    if scheme == "https":
        headers.append(("strict-transport-security", HSTS))
    return headers


async def add_security_headers(message: Message, scope: Scope) -> None:
    """Litestar's before-send hook: replace any same-named header the handler set."""
    if message["type"] != "http.response.start":
        return
    ours = security_headers(scope.get("path", ""), scope.get("scheme", "http"))
    names = {name.encode() for name, _ in ours}
    kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
    message["headers"] = [*kept, *((k.encode(), v.encode()) for k, v in ours)]
