"""S/MIME (RFC 8551): sign, encrypt, verify and decrypt e-mail, and the certificates for it.

Signing and encryption are done by ``cryptography`` (``pkcs7.PKCS7SignatureBuilder`` and
``pkcs7.PKCS7EnvelopeBuilder``, AES-128/256-CBC with RSA key transport, which every S/MIME
client reads); decryption by ``pkcs7.pkcs7_decrypt_smime``.  ``cryptography`` has no CMS
signature *verification*, so :func:`verify` parses the SignedData with ``asn1crypto`` and
checks the digest and the signature with ``cryptography``'s public-key primitives.

Certificates (:class:`CertificateDirectory`) live in plain files so that any tool can put
them there::

    DIR/contacts/<sha256>.pem   peers' certificates (imported; looked up by e-mail address:
                                subjectAltName rfc822Name or the subject's emailAddress)
    DIR/trust/*.pem             extra CA certificates trusted for signatures
    DIR/identity/cert.pem       the user's own certificate (+ chain) ...
    DIR/identity/key.pem        ... and private key (PEM, optionally password protected)

Only the message body is protected: the outer From/To/Subject headers stay readable, as with
every S/MIME client.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.serialization import pkcs7

from services.errors import ConfigurationError, NotFound, SourceError
from services.security.smime_cms import (
    SecureMessageError,
    Verified,
    certificate_addresses,
    is_ca,
    valid_at,
    verify_signed_data,
)

__all__ = [
    "CertificateDirectory",
    "CertificateNotFound",
    "Identity",
    "OpenedMessage",
    "SecureMessageError",
    "Verified",
    "build_secure_message",
    "certificate_addresses",
    "decrypt",
    "encrypt",
    "fingerprint",
    "is_encrypted",
    "is_signed",
    "open_message",
    "sign",
    "verify",
]

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
_ALGORITHMS: dict[str, Any] = {
    "AES-256": algorithms.AES256,
    "AES256": algorithms.AES256,
    "AES-128": algorithms.AES128,
    "AES128": algorithms.AES128,
}
_SIGNING_HASHES: dict[str, type[hashes.SHA224 | hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    "sha224": hashes.SHA224, "sha256": hashes.SHA256, "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class CertificateNotFound(NotFound):
    """No usable certificate for an address (import the contact's certificate first)."""


# -- certificates ---------------------------------------------------------------------------
def _load_certs(data: bytes) -> list[x509.Certificate]:
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise SecureMessageError(f"not a certificate: {exc}") from exc


@dataclass(frozen=True)
class Identity:
    """The user's own certificate (with its chain) and private key."""

    certificate: x509.Certificate
    key: PrivateKey
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def address(self) -> str:
        found = certificate_addresses(self.certificate)
        return found[0] if found else ""

    @classmethod
    def from_pem(cls, cert_pem: bytes, key_pem: bytes, password: bytes | None = None) -> Identity:
        certs = _load_certs(cert_pem)
        try:
            key = serialization.load_pem_private_key(key_pem, password)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise SecureMessageError(f"cannot load the private key: {exc}") from exc
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise SecureMessageError("S/MIME needs an RSA or EC private key")
        spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        if key.public_key().public_bytes(*spki) != certs[0].public_key().public_bytes(*spki):
            raise SecureMessageError("the private key does not belong to the certificate")
        return cls(certs[0], key, tuple(certs[1:]))


class CertificateDirectory:
    """Certificates kept as files under ``root`` (layout in the module docstring)."""

    def __init__(self, root: Path, *, key_password: bytes | None = None) -> None:
        self.root = Path(root)
        self._password = key_password

    @property
    def contacts_dir(self) -> Path:
        return self.root / "contacts"

    def _write(self, path: Path, data: bytes, mode: int = 0o644) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.chmod(mode)
            tmp.replace(path)
        except OSError as exc:
            raise SourceError(f"cannot write {path}: {exc}") from exc

    def import_certificate(self, data: bytes | Path) -> list[str]:
        """Add a peer's certificate (PEM or DER, bytes or a file); returns its addresses."""
        if isinstance(data, Path):
            try:
                content = data.read_bytes()
            except OSError as exc:
                raise SourceError(f"cannot read {data}: {exc}") from exc
        else:
            content = data
        cert = _load_certs(content)[0]
        addresses = certificate_addresses(cert)
        if not addresses:
            raise SecureMessageError("the certificate names no e-mail address")
        name = cert.fingerprint(hashes.SHA256()).hex() + ".pem"
        self._write(self.contacts_dir / name, cert.public_bytes(serialization.Encoding.PEM))
        return addresses

    def add_trust_anchor(self, data: bytes) -> x509.Certificate:
        """Trust a CA certificate (PEM or DER) for signatures; kept in ``trust/``."""
        cert = _load_certs(data)[0]
        if not is_ca(cert):
            raise SecureMessageError("a trust anchor must be a CA certificate")
        name = cert.fingerprint(hashes.SHA256()).hex() + ".pem"
        self._write(self.root / "trust" / name, cert.public_bytes(serialization.Encoding.PEM))
        return cert

    def contacts(self) -> list[x509.Certificate]:
        found: list[x509.Certificate] = []
        if self.contacts_dir.is_dir():
            for path in sorted(self.contacts_dir.glob("*.pem")):
                found += _load_certs(path.read_bytes())
        return found

    def certificate_for(self, address: str, *, now: datetime | None = None) -> x509.Certificate:
        """The peer certificate for ``address`` valid now (the longest-lived one)."""
        when = now or datetime.now(UTC)
        wanted = address.strip().lower()
        usable = [c for c in self.contacts()
                  if wanted in certificate_addresses(c) and valid_at(c, when)]
        if not usable:
            raise CertificateNotFound(
                f"no valid S/MIME certificate for {address}; import one with "
                "CertificateDirectory.import_certificate()")
        return max(usable, key=lambda c: c.not_valid_after_utc)

    def remove_for(self, address: str) -> int:
        """Delete every stored peer certificate for ``address``; returns how many."""
        wanted = address.strip().lower()
        removed = 0
        if self.contacts_dir.is_dir():
            for path in self.contacts_dir.glob("*.pem"):
                if any(wanted in certificate_addresses(c) for c in _load_certs(path.read_bytes())):
                    path.unlink()
                    removed += 1
        return removed

    def trusted(self) -> list[x509.Certificate]:
        """Certificates trusted as signers or signer CAs: peers plus ``trust/*.pem``."""
        found = self.contacts()
        trust = self.root / "trust"
        if trust.is_dir():
            for path in sorted(trust.glob("*.pem")):
                found += _load_certs(path.read_bytes())
        own = self.identity()
        if own is not None:
            found.append(own.certificate)
        return found

    def set_identity(self, cert_pem: bytes, key_pem: bytes) -> Identity:
        """Install the user's certificate and key (checked to match first)."""
        identity = Identity.from_pem(cert_pem, key_pem, self._password)
        self._write(self.root / "identity" / "cert.pem", cert_pem)
        self._write(self.root / "identity" / "key.pem", key_pem, 0o600)
        return identity

    def identity(self) -> Identity | None:
        cert, key = self.root / "identity" / "cert.pem", self.root / "identity" / "key.pem"
        if not (cert.is_file() and key.is_file()):
            return None
        return Identity.from_pem(cert.read_bytes(), key.read_bytes(), self._password)


# -- producing ------------------------------------------------------------------------------
def _crlf(data: bytes) -> bytes:
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


def sign(entity: bytes, identity: Identity, *, digest: str = "sha256") -> bytes:
    """``entity`` (a MIME part: headers, blank line, body) as a multipart/signed entity."""
    algo = _SIGNING_HASHES.get(digest.lower())
    if algo is None:
        raise ConfigurationError(f"unsupported signature digest {digest!r}")
    builder = pkcs7.PKCS7SignatureBuilder().set_data(_crlf(entity)).add_signer(
        identity.certificate, identity.key, algo())
    for extra in identity.chain:
        builder = builder.add_certificate(extra)
    return _crlf(builder.sign(serialization.Encoding.SMIME,
                              [pkcs7.PKCS7Options.DetachedSignature]))


def encrypt(entity: bytes, recipients: Sequence[x509.Certificate], *,
            encryption_level: str = "AES-256") -> bytes:
    """``entity`` as an application/pkcs7-mime enveloped-data entity for ``recipients``."""
    algorithm = _ALGORITHMS.get(encryption_level.upper().replace("_", "-"))
    if algorithm is None:
        raise ConfigurationError(
            f"unsupported encryption_level {encryption_level!r}; use AES-256 or AES-128")
    if not recipients:
        raise ConfigurationError("encryption needs at least one recipient certificate")
    builder = pkcs7.PKCS7EnvelopeBuilder().set_data(_crlf(entity))
    for cert in recipients:
        if not isinstance(cert.public_key(), rsa.RSAPublicKey):
            raise ConfigurationError("S/MIME encryption needs RSA recipient certificates")
        builder = builder.add_recipient(cert)
    builder = builder.set_content_encryption_algorithm(algorithm)
    return _crlf(builder.encrypt(serialization.Encoding.SMIME, []))


def build_secure_message(
    *,
    sender: str,
    recipient: str,
    subject: str,
    body: str,
    recipient_cert: x509.Certificate,
    identity: Identity | None = None,
    encryption_level: str = "AES-256",
    now: datetime | None = None,
    headers: Iterable[tuple[str, str]] = (),
) -> bytes:
    """A complete RFC 5322 message: the body signed (with ``identity``) and encrypted to the
    recipient (and to ``identity`` too, so the sender can read its own copy)."""
    inner = EmailMessage(policy=email.policy.SMTP)
    inner.set_content(body)
    del inner["MIME-Version"]
    entity = inner.as_bytes()
    if identity is not None:
        entity = sign(entity, identity)
    recipients = [recipient_cert] + ([identity.certificate] if identity else [])
    enveloped = encrypt(entity, recipients, encryption_level=encryption_level)
    outer = EmailMessage(policy=email.policy.SMTP)
    outer["From"] = sender
    outer["To"] = recipient
    outer["Subject"] = subject
    outer["Date"] = format_datetime(now or datetime.now(UTC))
    domain = sender.rpartition("@")[2] or "commhub.invalid"
    outer["Message-ID"] = f"<{uuid.uuid4().hex}@{domain}>"
    for name, value in headers:
        outer[name] = value
    return outer.as_bytes().rstrip(b"\r\n") + b"\r\n" + enveloped


# -- reading --------------------------------------------------------------------------------
def _parse(raw: bytes) -> email.message.Message:
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def _smime_type(msg: email.message.Message) -> str:
    ctype = msg.get_content_type()
    if ctype in ("application/pkcs7-mime", "application/x-pkcs7-mime"):
        kind = str(msg.get_param("smime-type") or "").lower()
        if kind:
            return kind
        name = str(msg.get_param("name") or msg.get_filename() or "").lower()
        return "signed-data" if name.endswith(".p7s") else "enveloped-data"
    if ctype == "multipart/signed":
        return "multipart-signed"
    return ""


def is_encrypted(raw: bytes) -> bool:
    return _smime_type(_parse(raw)) in ("enveloped-data", "authenveloped-data")


def is_signed(raw: bytes) -> bool:
    return _smime_type(_parse(raw)) in ("multipart-signed", "signed-data")


def decrypt(raw: bytes, identity: Identity) -> bytes:
    """The MIME entity inside an enveloped-data message (or part) addressed to ``identity``."""
    if not isinstance(identity.key, rsa.RSAPrivateKey):
        raise SecureMessageError("S/MIME decryption needs an RSA private key")
    if not is_encrypted(raw):
        raise SecureMessageError("not an S/MIME encrypted message")
    try:
        return pkcs7.pkcs7_decrypt_smime(raw, identity.certificate, identity.key, [])
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise SecureMessageError(f"cannot decrypt the message: {exc}") from exc


def _multipart_signed_parts(raw: bytes, msg: email.message.Message) -> tuple[bytes, bytes]:
    boundary = msg.get_boundary()
    if not boundary:
        raise SecureMessageError("multipart/signed without a boundary")
    delim = re.escape(b"--" + boundary.encode("ascii", "replace"))
    starts = [m for m in re.finditer(rb"(?:\r?\n|^)" + delim + rb"(--)?[ \t]*(?:\r?\n|$)", raw)]
    if len(starts) < 3 or starts[0].group(1) or starts[1].group(1):
        raise SecureMessageError("malformed multipart/signed message")
    content = raw[starts[0].end():starts[1].start()]
    parts = msg.get_payload()
    if not isinstance(parts, list) or len(parts) < 2:
        raise SecureMessageError("multipart/signed without a signature part")
    part = parts[1]
    signature = part.get_payload(decode=True) if isinstance(part, email.message.Message) else None
    if not isinstance(signature, bytes) or not signature:
        raise SecureMessageError("empty S/MIME signature")
    return content, signature


def verify(raw: bytes, trusted: Sequence[x509.Certificate] = (), *,
           now: datetime | None = None) -> Verified:
    """Check a signed message (multipart/signed or opaque signed-data).

    Raises :class:`SecureMessageError` when the signature is bad; ``Verified.trusted`` says
    whether the signer chains to one of ``trusted`` (and is valid now)."""
    when = now or datetime.now(UTC)
    msg = _parse(raw)
    kind = _smime_type(msg)
    if kind == "multipart-signed":
        content, der = _multipart_signed_parts(raw, msg)
        try:
            return verify_signed_data(der, _crlf(content), trusted, when)
        except SecureMessageError:
            if _crlf(content) == content:
                raise
            return verify_signed_data(der, content, trusted, when)
    if kind == "signed-data":
        payload = msg.get_payload(decode=True)
        if not isinstance(payload, bytes):
            raise SecureMessageError("empty S/MIME signed-data part")
        return verify_signed_data(payload, None, trusted, when)
    raise SecureMessageError("not an S/MIME signed message")


@dataclass(frozen=True)
class OpenedMessage:
    """What :func:`open_message` found: the innermost entity and how it was protected."""

    content: bytes
    encrypted: bool = False
    signature: Verified | None = None
    layers: tuple[str, ...] = field(default=())

    def signed_by(self, address: str) -> bool:
        """A good, trusted signature from a certificate for ``address`` (compare with the
        message's From: a valid signature by someone else proves nothing about the sender)."""
        sig = self.signature
        return bool(sig and sig.trusted and address.strip().lower() in sig.signer_addresses)

    @property
    def text(self) -> str:
        msg = email.message_from_bytes(self.content, policy=email.policy.default)
        part = msg.get_body(("plain", "html")) if msg.is_multipart() else msg
        if part is None:
            return ""
        content = part.get_content()
        return content.replace("\r\n", "\n") if isinstance(content, str) else ""


def open_message(raw: bytes, *, identity: Identity | None = None,
                 trusted: Sequence[x509.Certificate] = (),
                 now: datetime | None = None) -> OpenedMessage:
    """Decrypt and verify, layer by layer (encrypted, signed, or both in either order)."""
    content, encrypted, signature, layers = raw, False, None, []
    for _ in range(4):
        if is_encrypted(content):
            if identity is None:
                raise SecureMessageError("the message is encrypted and no identity is set up")
            content, encrypted = decrypt(content, identity), True
            layers.append("encrypted")
        elif is_signed(content):
            signature = verify(content, trusted, now=now)
            content = signature.content
            layers.append("signed")
        else:
            break
    return OpenedMessage(content, encrypted, signature, tuple(layers))


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
