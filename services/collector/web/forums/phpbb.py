"""phpBB 3 (prosilver and its derivatives): `div.post` per post, `div.content` text."""

from __future__ import annotations

from services.collector.web.forums.selectors import ForumSelectors

SELECTORS = ForumSelectors(
    engine="phpbb",
    post="//div[contains(concat(' ', normalize-space(@class), ' '), ' post ')]"
    "[starts-with(@id, 'p')]",
    text=".//div[@class='content' or starts-with(@class, 'content ')]",
    author=".//*[@class='author']//*[contains(@class, 'username')]"
    " | .//*[contains(@class, 'postprofile')]//*[contains(@class, 'username')]"
    " | .//*[@class='author']//strong",
    date=".//*[@class='author']//time/@datetime | .//*[@class='author']",
    post_id="@id",
    permalink=".//*[@class='author']/a[contains(@href, '#p')]/@href"
    " | .//h3/a[starts-with(@href, '#p')]/@href",
    title="//h2[contains(@class, 'topic-title')] | //h2[1] | //h3[contains(@class, 'first')]",
    next_page="//a[@rel='next']/@href | //li[contains(@class, 'next')]/a/@href",
    remove=(".//*[contains(@class, 'signature')]", ".//blockquote"),
)
