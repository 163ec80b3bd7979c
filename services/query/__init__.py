"""Email queries: the builder, the text syntax, the compilers and the local evaluator.

See ``docs/query-language.md`` for the syntax and how each element maps to the
local store, IMAP, Gmail and Microsoft Graph.
"""

from services.models import SortOrder
from services.query.builder import EmailQuery, SortField
from services.query.compiled import Compiled
from services.query.evaluate import matches
from services.query.gmail import to_gmail
from services.query.graph import GraphQuery, to_graph
from services.query.imap import ImapSearch, to_imap
from services.query.parser import parse_query
from services.query.text import to_text

__all__ = [
    "Compiled",
    "EmailQuery",
    "GraphQuery",
    "ImapSearch",
    "SortField",
    "SortOrder",
    "matches",
    "parse_query",
    "to_gmail",
    "to_graph",
    "to_imap",
    "to_text",
]
