"""IMAP, Gmail and Graph compilers: expected output for a table of queries."""

from __future__ import annotations

import pytest

from services.query import parse_query, to_gmail, to_graph, to_imap
from services.query.imap import ImapSearch


@pytest.mark.parametrize(
    ("query", "criteria", "residual"),
    [
        ("", "ALL", None),
        ("is:unread is:flagged", "UNSEEN FLAGGED", None),
        ("-is:answered is:draft is:deleted", "NOT ANSWERED DRAFT DELETED", None),
        ("larger:1000 smaller:2000", "LARGER 1000 SMALLER 2000", None),
        ("is:read OR is:flagged OR is:draft", "OR SEEN OR FLAGGED DRAFT", None),
        ("(is:read is:draft) OR -is:flagged", "OR (SEEN DRAFT) NOT FLAGGED", None),
        ("from:alice", 'FROM "alice"', "from:alice"),
        ("from:bob@x.com", 'FROM "bob" FROM "x" FROM "com"', "from:bob@x.com"),
        ('subject:"two words"', 'SUBJECT "two" SUBJECT "words"', 'subject:"two words"'),
        ("to:bob", 'OR TO "bob" OR CC "bob" BCC "bob"', "to:bob"),
        ("contact:bob", 'OR FROM "bob" OR TO "bob" OR CC "bob" BCC "bob"', "contact:bob"),
        ("body:x text:(y z)", 'BODY "x" TEXT "y" TEXT "z"', "body:x text:(y z)"),
        ("id:a@b", 'HEADER Message-ID "a@b"', "id:a@b"),
        ('"say \\"hi\\""', 'TEXT "say" TEXT "hi"', r'"say \"hi\""'),
        ("date:2024-01-01..2024-12-31", "SENTSINCE 31-Dec-2023 SENTBEFORE 02-Jan-2025",
         "date:2024-01-01..2024-12-31"),
        ("has:attachment is:unread", "UNSEEN", "has:attachment"),
        ("priority:high channel:email account:x attachment:y", "ALL",
         "priority:high channel:email account:x attachment:y"),
        ("is:unread OR has:attachment", "ALL", "is:unread OR has:attachment"),
        ("is:unread OR from:a", 'OR UNSEEN FROM "a"', "is:unread OR from:a"),
        ("-from:a is:read", "SEEN", "-from:a"),
    ],
)
def test_imap_table(query: str, criteria: str, residual: str | None) -> None:
    c = to_imap(parse_query(query))
    assert c.expressed.text == criteria
    assert (c.residual and parse_query(residual or "")) == (residual and c.residual)
    assert (c.residual is None) == (residual is None) == (not c.unsupported)


def test_imap_non_ascii_needs_charset_and_quotes_are_escaped() -> None:
    c = to_imap(parse_query("subject:Straße"))
    assert c.expressed == ImapSearch(["SUBJECT", '"Straße"'], "UTF-8", None)
    assert to_imap(parse_query('id:"a\\"b"')).expressed.criteria == [
        "HEADER", "Message-ID", '"a\\"b"']


def test_imap_folders_are_a_select_hint() -> None:
    c = to_imap(parse_query("folder:INBOX is:unread"))
    assert c.expressed.folders == ("INBOX",) and c.residual is None
    c = to_imap(parse_query("(in:a OR in:b) is:unread"))
    assert c.expressed.folders == ("a", "b")
    assert to_imap(parse_query("in:a in:b")).expressed.folders == ()
    c = to_imap(parse_query("in:a OR is:unread"))
    assert c.expressed.folders is None and c.residual == parse_query("in:a OR is:unread")


def test_imap_gmail_mode_uses_x_gm_raw() -> None:
    c = to_imap(parse_query('from:alice subject:"big news" priority:high'), gmail=True)
    assert c.expressed.criteria == ["X-GM-RAW", '"from:alice subject:\\"big news\\""']
    assert c.residual == parse_query("priority:high")
    assert to_imap(parse_query("café"), gmail=True).expressed.charset == "UTF-8"


@pytest.mark.parametrize(
    ("query", "q", "residual"),
    [
        ("", "", None),
        ("from:alice subject:urgent has:attachment is:unread",
         "from:alice subject:urgent has:attachment is:unread", None),
        ('"exact phrase" subject:"two words" -word', '"exact phrase" subject:"two words" -word',
         None),
        ("subject:(a b) cc:c bcc:d", "subject:(a b) cc:c bcc:d", None),
        ("to:bob", "{to:bob cc:bob bcc:bob}", None),
        ("contact:bob", "{from:bob to:bob cc:bob bcc:bob}", None),
        ("is:read is:flagged -is:flagged", "is:read is:starred -is:starred", None),
        ("is:unflagged", "-is:starred", None),
        ("-is:unflagged", "-(-is:starred)", None),
        ("after:2024-01-01 before:2024-12-31", "after:1704067200 before:1735603200", None),
        ("date:2024-01-01", "(after:1704067200 before:1704153600)", None),
        ("larger:10M smaller:100K", "larger:10485760 smaller:102400", None),
        ("in:inbox label:Work folder:[Gmail]/Sent\\ Mail", "in:inbox label:Work", None),
        ('label:"My Stuff/2024"', "label:My-Stuff-2024", None),
        ("attachment:report.pdf id:<a@b>", "filename:report.pdf rfc822msgid:a@b", None),
        ("a OR b c", "a OR (b c)", None),
        ("-(a OR b) c", "-(a OR b) c", None),
        ("body:hello", "hello", "body:hello"),
        ("repo* is:unread", "is:unread", "repo*"),
        ("channel:sms account:x priority:high is:answered", "",
         "channel:sms account:x priority:high is:answered"),
        ("a OR priority:high", "", "a OR priority:high"),
        ("from:o'neil", "from:o'neil", None),
        ("text:(a(b)", "(a b)", None),
    ],
)
def test_gmail_table(query: str, q: str, residual: str | None) -> None:
    c = to_gmail(parse_query(query))
    if query.startswith("in:inbox"):  # a folder with a space needs quotes in the syntax
        c = to_gmail(parse_query('in:inbox label:Work folder:"[Gmail]/Sent Mail"'))
        q = "in:inbox label:Work in:sent"
    assert c.expressed == q
    assert c.residual == (parse_query(residual) if residual else None)


@pytest.mark.parametrize(
    ("query", "filter_", "search", "folder", "residual"),
    [
        ("is:unread", "isRead eq false", None, None, None),
        ("is:flagged -is:flagged is:draft", "flag/flagStatus eq 'flagged' and "
         "flag/flagStatus ne 'flagged' and isDraft eq true", None, None, None),
        ("has:attachment -has:attachment", "hasAttachments eq true and hasAttachments eq false",
         None, None, None),
        ("date:2024-01-01..2024-01-31",
         "(receivedDateTime ge 2024-01-01T00:00:00Z and receivedDateTime lt 2024-02-01T00:00:00Z)",
         None, None, None),
        ("priority:low OR priority:high", "importance eq 'low' or importance eq 'high'",
         None, None, None),
        ("from:o'brien@x.com", None, "from:o'brien@x.com", None, None),
        ("id:<m@x>", "internetMessageId eq '<m@x>'", None, None, None),
        ("folder:Inbox is:unread", "isRead eq false", None, "Inbox", None),
        ("-(is:read is:flagged)", "not (isRead eq true and flag/flagStatus eq 'flagged')",
         None, None, None),
        ("from:alice subject:urgent", None, "from:alice AND subject:urgent", None, None),
        ('"a b" -body:spam to:bob cc:c bcc:d', None,
         '"a b" AND NOT body:spam AND recipients:bob AND cc:c AND bcc:d', None, None),
        ("contact:bob attachment:x.pdf has:attachment priority:high larger:5",
         None, "participants:bob AND attachment:x.pdf AND hasattachment:true AND "
         "importance:high AND size>5", None, None),
        ("repo* text:(a OR)", None, "repo* AND a", None, None),
        # needs both: $search wins on score, the flags go to the residual
        ("subject:urgent is:unread", None, "subject:urgent", None, "is:unread"),
        ("from:bob@x.com after:2024-01-01 hello", None, "from:bob@x.com AND hello", None,
         "after:2024-01-01"),
        # needs both: a Message-ID outscores words
        ("id:<m@x> hello is:read", "internetMessageId eq '<m@x>' and isRead eq true", None,
         None, "hello"),
        ("channel:sms", None, None, None, "channel:sms"),
        ("in:a OR in:b", None, None, None, "in:a OR in:b"),
    ],
)
def test_graph_table(query: str, filter_: str | None, search: str | None, folder: str | None,
                     residual: str | None) -> None:
    c = to_graph(parse_query(query))
    assert (c.expressed.filter, c.expressed.search, c.expressed.folder) == (
        filter_, search, folder)
    assert c.residual == (parse_query(residual) if residual else None)


def test_graph_params_quote_search() -> None:
    c = to_graph(parse_query('subject:"big news"'))
    assert c.expressed.params() == {"$search": '"subject:\\"big news\\""'}
    assert to_graph(parse_query("is:read")).expressed.params() == {"$filter": "isRead eq true"}
