"""The query language: parse text to a tree, evaluate it on mentions."""

from services.core.query.ast import Node
from services.core.query.matcher import matches
from services.core.query.parser import QuerySyntaxError, QueryTooCostly, parse_query

__all__ = ["Node", "QuerySyntaxError", "QueryTooCostly", "matches", "parse_query"]
