"""Invision Community 4: `article.ipsComment` per post, `data-role=commentContent` text."""

from __future__ import annotations

from services.collector.web.forums.selectors import ForumSelectors

SELECTORS = ForumSelectors(
    engine="invision",
    post="//article[contains(@class, 'ipsComment')][starts-with(@id, 'elComment_')]",
    text=".//div[@data-role='commentContent']",
    author=".//*[contains(@class, 'cAuthorPane_author')]//a"
    " | .//*[contains(@class, 'cAuthorPane_author')]",
    date=".//time/@datetime",
    post_id="@id",
    post_id_pattern=r"(\d+)",
    permalink=".//a[contains(@href, 'comment=')]/@href",
    reply_to=".//div[@data-role='commentContent']//blockquote[@data-ipsquote-contentcommentid]"
    "/@data-ipsquote-contentcommentid",
    title="//h1[contains(@class, 'ipsType_pageTitle')]",
    next_page="//li[contains(@class, 'ipsPagination_next')]/a/@href | //a[@rel='next']/@href",
    remove=(".//blockquote[contains(@class, 'ipsQuote')]",),
)
