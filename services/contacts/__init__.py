"""Unified contacts: one person across e-mail, SMS, socket and chat handles.

Contacts are *derived* from the addresses the store has seen (``participants``) and
*recorded* when the user edits or merges them (``contacts``/``contact_identities``,
migration 4).  :class:`ContactsService` lists, searches, edits and merges them, finds
likely duplicates, completes addresses for the compose window and builds a
per-contact timeline across channels.
"""

from services.contacts.entries import ContactEntry, TimelineItem, identity_kind
from services.contacts.service import ContactsService

__all__ = ["ContactEntry", "ContactsService", "TimelineItem", "identity_kind"]
