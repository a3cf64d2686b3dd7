"""What runs in an extraction pool worker (`extract_pool`): article extraction only.

Spawned workers import this module by name, so it stays light: no Twisted, no
Scrapy, no pydantic models (about 0.5 s less start-up CPU per worker and per crawl).
"""

from __future__ import annotations

from services.collector.web.extract import Article, extract_article

_WARM_UP_PAGE = (
    b"<html><head><title>Veille</title></head><body><article><p>"
    + b"Une phrase pour charger l'extracteur. " * 8
    + b"</p></article></body></html>"
)


def extract_page(html: bytes, url: str) -> Article:
    """Extracts one page (a module-level function: spawn pickles it by name)."""
    return extract_article(html, url=url)


def warm_up() -> None:
    """Loads the extractor before the first page."""
    extract_article(_WARM_UP_PAGE, url="https://veille.invalid/warm-up")
