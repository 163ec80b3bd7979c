"""The contacts service over a real store seeded with the demo's mail, SMS and chat."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.demo import open_demo_store
from services.contacts import ContactsService
from services.contacts.entries import name_key
from services.errors import NotFound, ValidationError
from services.models import ChannelKind, Contact
from services.store import Store
from services.store.migrations import MIGRATIONS, migrate, schema_version


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_demo_store(tmp_path / "demo.sqlite3")
    yield s
    s.close()


@pytest.fixture
def contacts(store: Store) -> ContactsService:
    return ContactsService(store)


def test_derived_from_every_channel_without_own_addresses(contacts: ContactsService) -> None:
    entries = {e.key: e for e in contacts.entries()}
    assert "a:ana.lima@northwind.example" in entries
    ana = entries["a:ana.lima@northwind.example"]
    assert ana.contact.name == "Ana Lima" and ana.message_count == 3 and not ana.recorded
    assert entries["a:+15550142"].contact.phones == ["+15550142"]
    assert entries["a:@ben"].contact.chat_handles == {"demo": "@ben"}
    own = {"a:you@commhub.example", "a:+15550199", "a:@you"}
    assert not own & set(entries)


def test_search_ignores_case_and_accents(contacts: ContactsService) -> None:
    assert [e.contact.name for e in contacts.search("chloe")] == ["Chloé Martin"]
    assert [e.key for e in contacts.search("PETROV")] == ["a:dmitri@petrov.example"]
    assert contacts.search("nobody-like-this") == []
    assert len(contacts.search("")) == len(contacts.entries())


def test_save_claims_an_address_and_rejects_a_taken_one(contacts: ContactsService) -> None:
    saved = contacts.save(Contact("ana.lima@northwind.example", "+15550111", name="Ana L."))
    assert saved.recorded and saved.message_count == 3
    assert saved.contact.phones == ["+15550111"]
    keys = {e.key for e in contacts.entries()}
    assert "a:ana.lima@northwind.example" not in keys and saved.key in keys
    with pytest.raises(ValidationError, match=r"already belongs to 'Ana L\.'"):
        contacts.save(Contact("ANA.LIMA@northwind.example", name="Someone else"))
    assert len([e for e in contacts.entries() if e.recorded]) == 1  # nothing half-written
    with pytest.raises(ValidationError, match="not an e-mail"):
        contacts.save(Contact(emails=["not-an-address"], name="X"))


def test_edit_replaces_identities(contacts: ContactsService) -> None:
    saved = contacts.save(Contact("chloe.martin@acme.example", name="Chloé"))
    contact = saved.contact
    contact.name = "Chloé Martin-Durand"
    contact.phones.append("+33 1 23")
    with pytest.raises(ValidationError, match="spaces"):
        contacts.save(contact)
    contact.phones[-1] = "+33123"
    again = contacts.save(contact)
    assert again.key == saved.key
    assert again.contact.name == "Chloé Martin-Durand" and again.contact.phones == ["+33123"]


def test_duplicates_merge_and_timeline_across_channels(contacts: ContactsService) -> None:
    groups = contacts.duplicates()
    ben = next(g for g in groups if any(e.contact.name == "Ben Okafor" for e in g))
    assert {e.key for e in ben} == {"a:ben@okafor.example", "a:+15550142", "a:@ben"}
    merged = contacts.merge([e.key for e in ben])
    assert merged.recorded and merged.contact.name == "Ben Okafor"
    assert merged.contact.emails == ["ben@okafor.example"]
    assert merged.contact.phones == ["+15550142"]
    assert merged.message_count == 6
    assert not contacts.duplicates()
    timeline = contacts.timeline(merged.key)
    assert [t.channel for t in timeline[:3]] == [ChannelKind.CHAT, ChannelKind.SMS,
                                                 ChannelKind.SMS]
    assert {t.channel for t in timeline} == {ChannelKind.EMAIL, ChannelKind.SMS,
                                             ChannelKind.CHAT}
    dates = [t.date for t in timeline]
    assert dates == sorted(dates, reverse=True) and len(timeline) == 6
    outgoing = [t for t in timeline if not t.incoming]
    assert [t.subject for t in outgoing] == ["Re: Lunch on Thursday?"]
    assert outgoing[0].handle == "ben@okafor.example"


def test_merging_records_keeps_old_keys_working(contacts: ContactsService) -> None:
    a = contacts.save(Contact("ana.lima@northwind.example", name="Ana Lima"))
    b = contacts.save(Contact("billing@northwind.example"))
    c = contacts.save(Contact(phone="+15550100", name="Ana (mobile)"))
    first = contacts.merge([a.key, b.key], name="Ana Lima")
    second = contacts.merge([first.key, c.key])
    assert second.key == a.key
    assert contacts.get(b.key).key == a.key and contacts.get(c.key).key == a.key
    assert second.contact.emails == ["ana.lima@northwind.example", "billing@northwind.example"]
    assert second.contact.phones == ["+15550100"] and second.contact.name == "Ana Lima"
    with pytest.raises(ValidationError):
        contacts.merge([a.key])
    with pytest.raises(NotFound):
        contacts.get("c:999")


def test_delete_returns_addresses_to_derived(contacts: ContactsService) -> None:
    saved = contacts.save(Contact("yuki.sato@example.jp", name="Yuki"))
    contacts.delete(saved.key)
    entry = contacts.get("a:yuki.sato@example.jp")
    assert not entry.recorded and entry.contact.name == "佐藤 由紀"
    with pytest.raises(ValidationError):
        contacts.delete("a:yuki.sato@example.jp")


def test_complete_prefers_prefix_matches(contacts: ContactsService) -> None:
    found = contacts.complete("an")
    assert found[0].address == "ana.lima@northwind.example" and found[0].name == "Ana Lima"
    assert [a.address for a in contacts.complete("okafor")] == ["ben@okafor.example"]
    assert contacts.complete("") == []
    assert all("@" in a.address for a in contacts.complete("b"))  # e-mail identities only


def test_find_by_any_handle(contacts: ContactsService) -> None:
    merged = contacts.merge(["a:ben@okafor.example", "a:@ben"])
    found = contacts.find("@BEN")
    assert found is not None and found.key == merged.key
    assert contacts.find("nobody@example.org") is None


def test_migration_4_on_a_version_3_database(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "old.sqlite3", isolation_level=None)
    migrate(conn, MIGRATIONS[:3])
    conn.execute("INSERT INTO contacts (id, name) VALUES (7, 'Old')")
    conn.execute("INSERT INTO contact_identities VALUES (7, 'email', '', 'old@example.org', 1)")
    assert migrate(conn, MIGRATIONS[:4]) == 4 == schema_version(conn)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "contact_merges" in tables
    row = conn.execute("SELECT name, updated_at FROM contacts WHERE id = 7").fetchone()
    assert row == ("Old", 0)
    conn.close()
    with Store.open(tmp_path / "old.sqlite3") as store:
        entry = ContactsService(store).get("c:7")
        assert entry.contact.emails == ["old@example.org"] and entry.message_count == 0


@given(st.text(max_size=30))
def test_name_key_is_idempotent_and_case_blind(text: str) -> None:
    assert name_key(name_key(text)) == name_key(text)
    assert name_key(text.upper()) == name_key(text.lower()) or not text.isascii()


def test_new_messages_show_up_after_the_cached_list(contacts: ContactsService,
                                                    store: Store) -> None:
    before = {e.key for e in contacts.entries()}
    from services.models import Address, Message

    store.ingest([(Message(account="demo", folder="INBOX", remote_id="new-1",
                           sender=Address("zoe@new.example", "Zoé New"),
                           to=(Address("you@commhub.example"),), subject="hello",
                           message_id="<new-1@x>"), b"raw new 1")])
    after = {e.key for e in contacts.entries()}
    assert after - before == {"a:zoe@new.example"}
    assert contacts.complete("zoe")[0].name == "Zoé New"
