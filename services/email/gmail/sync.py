"""Full and incremental (history) sync of one Gmail account into the store (blocking).

Full sync: remember ``getProfile.historyId`` first (so changes during the listing are
replayed next time), list every id (``includeSpamTrash``), batch-get new ones with
``format=raw`` and known ones with ``format=minimal`` (labels → folder/flags), drop local
messages Gmail no longer has.  Incremental: ``history.list(startHistoryId)`` → a
:class:`~services.email.gmail.mapping.HistoryPlan` → raw gets for added ids, minimal gets
for re-labelled ids, deletes.  An expired history id (404) falls back to a full sync.
The historyId lives in ``SyncState.token`` of folder :data:`STATE_FOLDER`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence

from services.email.gmail.api import GmailApi
from services.email.gmail.mapping import message_from_raw_resource, placement, plan_history
from services.email.gmail.storeops import Local, apply_placement, ingest, local_index
from services.email.protocols import SyncReport
from services.errors import ProviderError
from services.store.store import Store
from services.store.syncstate import SyncState, get_sync_state, put_sync_state

__all__ = ["STATE_FOLDER", "GmailSync"]

STATE_FOLDER = "*"  # one historyId per Gmail account, not per label
_CHUNK = 200  # messages fetched and stored per step (bounded memory, steady progress)
Progress = Callable[[int, int | None], None]


class GmailSync:
    def __init__(self, api: GmailApi, store: Store, account: str,
                 names: Callable[[], Mapping[str, str]]) -> None:
        self.api = api
        self.store = store
        self.account = account
        self._names = names  # label id → name (cached by the service)

    def run(self, progress: Progress | None = None) -> SyncReport:
        started = time.monotonic()
        report = SyncReport(account=self.account)
        state = get_sync_state(self.store, self.account, STATE_FOLDER)
        if state is not None and state.token:
            try:
                self._incremental(state.token, report, progress)
            except ProviderError as exc:
                if exc.error_code != "NOT_FOUND":
                    raise
                report.full_resync = True
                self._full(report, progress)
        else:
            self._full(report, progress)
        report.seconds = time.monotonic() - started
        return report

    def _save(self, history_id: str) -> None:
        put_sync_state(self.store, self.account, STATE_FOLDER, SyncState(token=history_id))

    def _full(self, report: SyncReport, progress: Progress | None) -> None:
        history_id = str(self.api.profile()["historyId"])
        remote = self.api.list_ids(include_spam_trash=True)
        local = local_index(self.store, self.account)
        present = set(remote)
        gone = [entry.id for rid, entry in local.items() if rid not in present]
        known = [rid for rid in remote if rid in local]
        new = [rid for rid in remote if rid not in local]
        self._apply(report, known, new, local, progress)
        if gone:
            report.removed += self.store.delete(gone)
        report.folders = len({p.folder for p in local_index(self.store, self.account).values()})
        self._save(history_id)

    def _apply(
        self,
        report: SyncReport,
        relabel: list[str],
        new: list[str],
        local: Mapping[str, Local],
        progress: Progress | None,
    ) -> None:
        """Update labels of known messages, then fetch new ones, in chunks, with progress."""
        total = len(relabel) + len(new)
        done = 0
        for chunk in _chunks(relabel):
            report.updated += self._relabel(chunk, local)
            done += len(chunk)
            if progress:
                progress(done, total)
        for chunk in _chunks(new):
            report.added += self._fetch_new(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)

    def _incremental(self, start: str, report: SyncReport, progress: Progress | None) -> None:
        records, history_id = self.api.history(start)
        plan = plan_history(records)
        local = local_index(self.store, self.account)
        new = [i for i in plan.added if i not in local]
        relabel = [i for i in [*plan.relabeled, *plan.added] if i in local]
        self._apply(report, relabel, new, local, progress)
        gone = [local[i].id for i in plan.deleted if i in local]
        if gone:
            report.removed += self.store.delete(gone)
        self._save(history_id)

    def _fetch_new(self, ids: Sequence[str]) -> int:
        found = self.api.get_many(ids, "raw")
        names = self._names()
        items = [message_from_raw_resource(found[i], self.account, names)
                 for i in ids if i in found]
        return len(ingest(self.store, items))

    def _relabel(self, ids: Sequence[str], local: Mapping[str, Local]) -> int:
        """Refresh folder/flags/labels of stored messages; a vanished one is deleted."""
        found = self.api.get_many(ids, "minimal")
        names = self._names()
        changed = 0
        vanished: list[int] = []
        for ident in ids:
            entry = local[ident]
            resource = found.get(ident)
            if resource is None:
                vanished.append(entry.id)
                continue
            changed += apply_placement(
                self.store, entry.id, placement(resource.get("labelIds", []), names))
        if vanished:
            self.store.delete(vanished)
        return changed


def _chunks(ids: Sequence[str]) -> list[Sequence[str]]:
    return [ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK)]
