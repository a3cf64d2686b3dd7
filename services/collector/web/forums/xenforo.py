"""XenForo 2: `article.message--post` per post, `.bbWrapper` text, quotes name the
post they answer in `data-source="post: N"`."""

from __future__ import annotations

from services.collector.web.forums.selectors import ForumSelectors

SELECTORS = ForumSelectors(
    engine="xenforo",
    post="//article[contains(@class, 'message--post')]",
    text=".//article[contains(@class, 'message-body')]//div[contains(@class, 'bbWrapper')]"
    " | .//div[contains(@class, 'message-content')]//div[contains(@class, 'bbWrapper')]",
    author="@data-author | .//*[contains(@class, 'message-name')]",
    date=".//*[contains(@class, 'message-attribution')]//time/@datetime",
    post_id="@data-content",
    post_id_pattern=r"(\d+)",
    permalink=".//*[contains(@class, 'message-attribution-opposite')]"
    "//a[contains(@href, '/post-')]/@href",
    position=".//*[contains(@class, 'message-attribution-opposite')]"
    "//a[starts-with(normalize-space(.), '#')]",
    reply_to=".//div[contains(@class, 'bbWrapper')]//blockquote[@data-source]/@data-source",
    reply_to_pattern=r"post:\s*(\d+)",
    title="//h1[contains(@class, 'p-title-value')]",
    next_page="//a[contains(@class, 'pageNav-jump--next')]/@href",
    remove=(".//blockquote", ".//*[contains(@class, 'js-extraInfo')]"),
)
