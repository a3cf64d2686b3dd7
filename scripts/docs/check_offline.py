"""Fails when the built documentation site loads anything from outside (fonts, scripts,
stylesheets, images, frames), so it reads the same on a machine with no network.

Plain links to outside pages (`<a href="https://...">`) are allowed: following one is the
reader's choice. Usage: python scripts/docs/check_offline.py SITE_DIR
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# Attributes and CSS that make a browser fetch on its own.
_HTML_LOADS = re.compile(
    r"<(?:script|img|iframe|source|audio|video|embed)\b[^>]*\bsrc\s*=\s*[\"']?(https?:)?//"
    r"|<link\b[^>]*\bhref\s*=\s*[\"']?(https?:)?//",
    re.IGNORECASE,
)
_CSS_LOADS = re.compile(r"url\(\s*[\"']?(https?:)?//|@import\s+[\"']?(https?:)?//", re.IGNORECASE)


def outside_loads(site: Path) -> list[str]:
    problems: list[str] = []
    for path in sorted(site.rglob("*")):
        if path.suffix not in {".html", ".css"}:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        pattern = _HTML_LOADS if path.suffix == ".html" else _CSS_LOADS
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            snippet = text[match.start() : match.start() + 120].splitlines()[0]
            problems.append(f"{path.relative_to(site)}:{line}: {snippet}")
    return problems


def main() -> int:
    site = Path(sys.argv[1])
    if not (site / "index.html").is_file():
        print(f"{site}: no index.html, build the site first", file=sys.stderr)
        return 2
    problems = outside_loads(site)
    for problem in problems:
        print(f"loads from outside: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"{site}: no outside resources in {sum(1 for _ in site.rglob('*.html'))} pages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
