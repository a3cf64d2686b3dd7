"""The stable codes of the API's problem documents, for a client to word them itself.

Every problem document carries `code` beside its English `title` and `detail`: the one a
route gives, else its title in snake_case ("Invalid time window": `invalid_time_window`).
`CODES` lists them all with what each means (the OpenAPI document shows it; a test checks
that every title the routes use has its code here, so a renamed title cannot change a
code unnoticed). Each refused field of a 422 carries a code too (`FIELD_CODES`).
"""

from __future__ import annotations

import re
from typing import Final

from services.alerting.saved_searches import TooFarBack
from services.core.reports import NoSection, NotAnAddress, PeriodBackwards

CODES: Final[dict[str, str]] = {
    # 400 and 422: the request itself
    "invalid_request": "a field refused: `errors` names each one, with its own code",
    "unknown_query_parameter": "a query parameter the route does not take (`errors`)",
    "invalid_query": "the query does not parse (`position`, `expected`)",
    "query_too_costly": "the query is over a cap (`limit`)",
    "request_cannot_be_served": "the store cannot answer this request",
    "invalid_time": "a time outside years 1 to 9999",
    "invalid_time_window": "`since` is not before `until`",
    "too_far_back": "a time before year 1, or before the dates the API can count from",
    "name_mismatch": "the body's name is not the URL's",
    "invalid_report": "a report that cannot be saved or rendered (detail says why)",
    "unknown_target": "an alert rule's brand or saved search is unknown",
    "secret_not_allowed": "a secret's name the workspace may not use (`field`)",
    "nothing_to_backtest": "a rule without a detector",
    "invalid_correction": "a correction refused (detail says why)",
    "invalid_erasure": "an erasure refused (`field` when one is at fault)",
    "invalid_author": "an author handle that is none",
    "invalid_retention": "a retention setting refused",
    "invalid_re_analysis": "a re-analysis request refused",
    "invalid_selectors": "a web source's selectors do not parse",
    "cannot_preview_this_url": "a source preview that could not fetch or read the page",
    "invalid_triage_change": "a triage change that changes nothing or is not allowed",
    "invalid_note": "a triage note refused",
    "too_many_mentions": "a bulk change over its cap",
    "brand_needed": "this ranking needs a brand",
    "unknown_competitor": "a competitor to declare first",
    "not_a_session": "only a person's session can do this",
    # 401 and 403: who asks
    "api_key_required": "no API key or session",
    "invalid_api_key": "an API key unknown or revoked",
    "api_key_expired": "an API key past its expiry",
    "session_expired": "a session cookie no longer valid: sign in again",
    "token_refused": "an OIDC token refused (`reason`)",
    "sign_in_failed": "wrong name, email or password, or a failed OIDC sign-in",
    "sign_in_refused": "the OIDC provider refused the sign-in (`reason`)",
    "sign_in_expired": "an OIDC sign-in that took too long or was not started here",
    "sign_in_not_recognised": "an OIDC answer that matches no sign-in started here",
    "unauthorized": "not signed in",
    "forbidden": "the caller's role lacks the permission (`permission`, `role`)",
    "no_role_in_this_workspace": "the caller has no role in the workspace",
    "workspace_archived": "the workspace is archived",
    "workspace_mismatch": "the request names another workspace than its credential's",
    "cross_site_request_refused": "a change made with the session cookie from another site",
    # 404, 405, 409: what is asked for
    "not_found": "nothing by that name or id (or not visible to the caller)",
    "unknown_workspace": "no workspace by that name",
    "oidc_sign_in_is_off": "this installation has no OIDC provider",
    "method_not_allowed": "the route does not take this method",
    "name_taken": "the name is already taken",
    "conflict": "the change clashes with what is stored (detail says why)",
    "defined_in_the_config_files": "a brand or source of the workspace YAML: edit it there",
    "topic_defined_in_the_workspace": "a topic of the workspace YAML: edit it there",
    "saved_search_in_use": "alert rules or reports use it (`alert_rules`, `reports`)",
    "competitor_in_use": "brands still list this competitor (detail names them)",
    "cannot_lift_this_erasure": "an erasure that cannot be lifted",
    "re_analysis_under_way": "a re-analysis job is still running",
    "rate_limited": "too many requests: try again later",
    # 5xx: the server's side
    "internal_error": "an error of the server's (`error_id`)",
    "mention_index_unavailable": "the mention index is down",
    "topics_unavailable": "the topic store is down",
    "audit_log_unavailable": "an audited read refused: its audit line could not be written",
    "sign_in_provider_unavailable": "the OIDC provider does not answer",
    "report_not_sent": "a report rendered but not sent",
    "error": "another HTTP error",
}

#: The codes of a 422's refused fields beyond pydantic's own error types (`missing`,
#: `string_too_long`, `greater_than_equal`, `literal_error`... with their limits in
#: `params`): a check of ours that the API can name.
FIELD_CODES: Final[dict[type[Exception], str]] = {
    TooFarBack: "too_far_back",
    NotAnAddress: "not_an_address",
    NoSection: "no_section",
    PeriodBackwards: "period_backwards",
}

_NOT_WORDS = re.compile(r"[^a-z0-9]+")


def code_of(title: str) -> str:
    """A title's code: "Invalid time window" -> "invalid_time_window"."""
    return _NOT_WORDS.sub("_", title.lower()).strip("_")
