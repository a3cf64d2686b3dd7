"""vBulletin 3/4 (and 5's legacy templates): `postbitlegacy`/`postcontainer` posts,
`post_message_N` text."""

from __future__ import annotations

from services.collector.web.forums.selectors import ForumSelectors

SELECTORS = ForumSelectors(
    engine="vbulletin",
    post="//li[contains(@class, 'postbitlegacy') or contains(@class, 'postcontainer')]"
    "[starts-with(@id, 'post_')]"
    " | //table[starts-with(@id, 'post')][.//div[starts-with(@id, 'post_message_')]]",
    text=".//div[starts-with(@id, 'post_message_')]",
    author=".//*[contains(@class, 'username')] | .//a[contains(@class, 'bigusername')]",
    date=".//*[contains(@class, 'postdate')]//*[contains(@class, 'date')]"
    " | .//*[contains(@class, 'thead')][1]",
    post_id="@id",
    post_id_pattern=r"(\d+)",
    permalink=".//a[contains(@class, 'postcounter')]/@href",
    position=".//a[contains(@class, 'postcounter')] | .//a[starts-with(@id, 'postcount')]",
    reply_to=".//div[starts-with(@id, 'post_message_')]//*[contains(@class, 'bbcode_postedby')]"
    "//a[contains(@href, 'p=')]/@href",
    reply_to_pattern=r"[?&]p=(\d+)",
    title="//*[contains(@class, 'threadtitle')] | //span[contains(@class, 'threadtitle')]",
    next_page="//a[@rel='next']/@href",
    remove=(".//*[contains(@class, 'bbcode_quote')]", ".//*[contains(@class, 'signature')]"),
)
