"""The accounts dialog: add or edit IMAP/SMTP, Gmail and Microsoft 365 accounts, test the
connection (a clear ✔/✘ per step), save (password to the OS keyring), remove."""

from __future__ import annotations

import asyncio

from ui.qt import Qt, QtWidgets
from ui.viewmodels.accounts import AccountsBackend, AccountsViewModel

__all__ = ["AccountsDialog", "open_accounts"]

PROVIDERS = (("imap", "IMAP / SMTP"), ("gmail", "Gmail"), ("outlook", "Microsoft 365 / Outlook"))
_SECURITY_IMAP = ("ssl", "starttls", "plain")
_SECURITY_SMTP = ("starttls", "ssl", "plain")


def _label(text: str) -> QtWidgets.QLabel:
    label = QtWidgets.QLabel(text)
    label.setFixedWidth(96)  # every form of the dialog lines up
    return label


def _port(text: str) -> int | None:
    return int(text) if text.strip().isdigit() else None


class AccountsDialog(QtWidgets.QDialog):
    def __init__(self, vm: AccountsViewModel, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.vm = vm
        self.setObjectName("accountsDialog")
        self.setWindowTitle("Accounts")
        self.resize(820, 540)
        self._pending: set[asyncio.Future[object]] = set()
        self._loading = False

        self.account_list = QtWidgets.QListWidget()
        self.account_list.setObjectName("accountList")
        self.add_button = QtWidgets.QPushButton("Add")
        self.remove_button = QtWidgets.QPushButton("Remove")
        left = QtWidgets.QVBoxLayout()
        left.addWidget(QtWidgets.QLabel("Accounts"))
        left.addWidget(self.account_list, 1)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        left.addLayout(row)

        self.provider = QtWidgets.QComboBox()
        for key, label in PROVIDERS:
            self.provider.addItem(label, key)
        self.name = QtWidgets.QLineEdit()
        self.name.setPlaceholderText("a short name, e.g. work")
        self.email = QtWidgets.QLineEdit()
        self.email.setPlaceholderText("you@example.org")
        common = QtWidgets.QFormLayout()
        common.addRow(_label("Type:"), self.provider)
        common.addRow(_label("Name:"), self.name)
        common.addRow(_label("E-mail:"), self.email)

        self.pages = QtWidgets.QStackedWidget()
        self.pages.addWidget(self._imap_page())
        self.pages.addWidget(self._gmail_page())
        self.pages.addWidget(self._outlook_page())

        self.result = QtWidgets.QLabel("")
        self.result.setObjectName("testResult")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.test_button = QtWidgets.QPushButton("Test connection")
        self.save_button = QtWidgets.QPushButton("Save")
        self.save_button.setDefault(True)
        close = QtWidgets.QPushButton("Close")
        close.clicked.connect(self.accept)
        actions = QtWidgets.QHBoxLayout()
        actions.addWidget(self.test_button)
        actions.addStretch(1)
        actions.addWidget(self.save_button)
        actions.addWidget(close)
        right = QtWidgets.QVBoxLayout()
        right.addLayout(common)
        right.addWidget(self.pages)
        right.addWidget(self.result)
        right.addStretch(1)
        right.addLayout(actions)
        outer = QtWidgets.QHBoxLayout(self)
        outer.addLayout(left, 1)
        outer.addLayout(right, 3)

        self.provider.currentIndexChanged.connect(self._provider_changed)
        for field, widget in (("name", self.name), ("email", self.email),
                              ("username", self.username), ("imap_host", self.imap_host),
                              ("smtp_host", self.smtp_host), ("ca_file", self.ca_file),
                              ("credentials_path", self.credentials),
                              ("client_id", self.client_id), ("tenant", self.tenant)):
            widget.textEdited.connect(lambda t, f=field: self._set(**{f: t}))
        self.password.textEdited.connect(lambda t: self._set(password=t))
        self.imap_port.textEdited.connect(lambda t: self._set(imap_port=_port(t)))
        self.smtp_port.textEdited.connect(lambda t: self._set(smtp_port=_port(t)))
        self.imap_security.currentTextChanged.connect(lambda t: self._set(imap_security=t))
        self.smtp_security.currentTextChanged.connect(lambda t: self._set(smtp_security=t))
        self.plaintext.toggled.connect(lambda on: self._set(allow_plaintext=on))
        self.account_list.currentRowChanged.connect(self._account_chosen)
        self.add_button.clicked.connect(lambda: vm.new(str(self.provider.currentData())))
        self.remove_button.clicked.connect(self.remove_selected)
        self.test_button.clicked.connect(lambda: self._run(vm.test()))
        self.save_button.clicked.connect(lambda: self._run(vm.save()))
        vm.on_changed(self._refresh)
        self._refresh()
        self._run(vm.refresh())

    # ------------------------------------------------------------------ pages
    def _imap_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.username = QtWidgets.QLineEdit()
        self.username.setPlaceholderText("if not the e-mail address")
        self.password = QtWidgets.QLineEdit()
        self.password.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("kept in the OS keyring, never in a file")
        self.imap_host, self.imap_port = QtWidgets.QLineEdit(), QtWidgets.QLineEdit()
        self.smtp_host, self.smtp_port = QtWidgets.QLineEdit(), QtWidgets.QLineEdit()
        self.imap_security, self.smtp_security = QtWidgets.QComboBox(), QtWidgets.QComboBox()
        self.imap_security.addItems(_SECURITY_IMAP)
        self.smtp_security.addItems(_SECURITY_SMTP)
        for port, default in ((self.imap_port, "993"), (self.smtp_port, "587")):
            port.setPlaceholderText(f"default ({default})")
            port.setMaximumWidth(110)
        self.ca_file = QtWidgets.QLineEdit()
        self.ca_file.setPlaceholderText("optional: trust this CA (a self-signed server)")
        self.plaintext = QtWidgets.QCheckBox("Allow unencrypted connections (never the default)")
        form.addRow(_label("User name:"), self.username)
        form.addRow(_label("Password:"), self.password)
        form.addRow(_label("IMAP server:"), self._server_row(self.imap_host, self.imap_port,
                                                      self.imap_security))
        form.addRow(_label("SMTP server:"), self._server_row(self.smtp_host, self.smtp_port,
                                                      self.smtp_security))
        form.addRow(_label("CA file:"), self.ca_file)
        form.addRow(_label(""), self.plaintext)
        return page

    @staticmethod
    def _server_row(host: QtWidgets.QLineEdit, port: QtWidgets.QLineEdit,
                    security: QtWidgets.QComboBox) -> QtWidgets.QWidget:
        box = QtWidgets.QWidget()
        row = QtWidgets.QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        host.setPlaceholderText("host name")
        row.addWidget(host, 3)
        row.addWidget(port, 1)
        row.addWidget(security, 1)
        return box

    def _gmail_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.credentials = QtWidgets.QLineEdit()
        self.credentials.setPlaceholderText("credentials.json from the Google Cloud console")
        browse = QtWidgets.QPushButton("Browse…")
        browse.clicked.connect(self._browse_credentials)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.credentials, 1)
        row.addWidget(browse)
        form.addRow(_label("Client secrets:"), row)
        note = QtWidgets.QLabel("You sign in with Google in your browser on the first sync; "
                                "the token is kept in the OS keyring.")
        note.setWordWrap(True)
        form.addRow(_label(""), note)
        return page

    def _outlook_page(self) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.client_id = QtWidgets.QLineEdit()
        self.client_id.setPlaceholderText("app (client) id from the Azure portal")
        self.tenant = QtWidgets.QLineEdit()
        self.tenant.setPlaceholderText("common")
        form.addRow(_label("App id:"), self.client_id)
        form.addRow(_label("Tenant:"), self.tenant)
        note = QtWidgets.QLabel("You sign in with Microsoft in your browser on the first sync.")
        note.setWordWrap(True)
        form.addRow(_label(""), note)
        return page

    # ------------------------------------------------------------------ plumbing
    def _run(self, aw: object) -> asyncio.Future[object]:
        fut: asyncio.Future[object] = asyncio.ensure_future(aw)  # type: ignore[arg-type]
        self._pending.add(fut)
        fut.add_done_callback(self._pending.discard)
        return fut

    async def settle(self) -> None:
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    def _set(self, **changes: object) -> None:
        if not self._loading:
            self.vm.update(**changes)

    def _provider_changed(self, index: int) -> None:
        self.pages.setCurrentIndex(index)
        self._set(provider=str(self.provider.itemData(index)))

    def _account_chosen(self, row: int) -> None:
        if not self._loading and 0 <= row < len(self.vm.accounts):
            self.vm.edit(self.vm.accounts[row].name)

    def _browse_credentials(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "OAuth client secrets", "", "JSON (*.json)")
        if path:
            self.credentials.setText(path)
            self._set(credentials_path=path)

    def remove_selected(self) -> None:
        row = self.account_list.currentRow()
        if 0 <= row < len(self.vm.accounts):
            self._run(self.vm.remove(self.vm.accounts[row].name))

    # ------------------------------------------------------------------ vm → widgets
    def _refresh(self) -> None:
        vm, f = self.vm, self.vm.form
        self._loading = True
        try:
            names = [f"{a.name}  ({a.provider}, {a.address})" for a in vm.accounts]
            if [self.account_list.item(i).text()
                    for i in range(self.account_list.count())] != names:
                self.account_list.clear()
                self.account_list.addItems(names)
            current = next((i for i, a in enumerate(vm.accounts) if a.name == vm.editing), -1)
            self.account_list.setCurrentRow(current)
            index = max(0, [k for k, _ in PROVIDERS].index(f.kind)) if f.provider else 0
            self.provider.setCurrentIndex(index)
            self.pages.setCurrentIndex(index)
            self.provider.setEnabled(vm.editing is None)
            self.name.setReadOnly(vm.editing is not None)
            for widget, value in ((self.name, f.name), (self.email, f.email),
                                  (self.username, f.username), (self.imap_host, f.imap_host),
                                  (self.smtp_host, f.smtp_host), (self.ca_file, f.ca_file or ""),
                                  (self.credentials, f.credentials_path),
                                  (self.client_id, f.client_id),
                                  (self.tenant, "" if f.tenant == "common" else f.tenant),
                                  (self.password, vm.password),
                                  (self.imap_port, str(f.imap_port or "")),
                                  (self.smtp_port, str(f.smtp_port or ""))):
                if widget.text() != value:
                    widget.setText(value)
            self.imap_security.setCurrentText(f.imap_security)
            self.smtp_security.setCurrentText(f.smtp_security)
            self.plaintext.setChecked(f.allow_plaintext)
        finally:
            self._loading = False
        self.remove_button.setEnabled(vm.editing is not None)
        self.test_button.setEnabled(not vm.busy)
        if vm.error:
            self.result.setText(f"✘ {vm.error}")
            self.result.setStyleSheet("color: #b00020;")
        elif vm.report is not None:
            self.result.setText(vm.report.summary())
            self.result.setStyleSheet("color: #1b7f3b;" if vm.report.ok else "color: #b00020;")
        else:
            self.result.setText(vm.status)
            self.result.setStyleSheet("")


def open_accounts(manager: AccountsBackend,
                  parent: QtWidgets.QWidget | None = None) -> AccountsDialog:
    """Show the accounts dialog over ``manager`` (a ``CommManager``)."""
    dialog = AccountsDialog(AccountsViewModel(manager), parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
