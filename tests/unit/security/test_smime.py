"""S/MIME in process: sign/verify, encrypt/decrypt, tampering, the certificate directory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from services.errors import ConfigurationError, NotFound
from services.security import smime
from services.security.smime import (
    CertificateDirectory,
    CertificateNotFound,
    Identity,
    SecureMessageError,
)
from tests.unit.security.pki_helpers import Person, SmimePKI


def _message(alice: Person, bob: Person, body: str = "Quarterly numbers: 42\n") -> bytes:
    return smime.build_secure_message(
        sender=alice.address, recipient=bob.address, subject="Confidential",
        body=body, recipient_cert=bob.cert, identity=alice.identity)


def test_sign_encrypt_roundtrip(pki: SmimePKI, alice: Person, bob: Person) -> None:
    raw = _message(alice, bob)
    assert b"Quarterly" not in raw  # the body is not readable on the wire
    assert smime.is_encrypted(raw) and not smime.is_signed(raw)
    opened = smime.open_message(raw, identity=bob.identity, trusted=[pki.ca])
    assert opened.layers == ("encrypted", "signed")
    assert opened.text == "Quarterly numbers: 42\n"
    assert opened.signature is not None and opened.signature.trusted
    assert opened.signature.signer_addresses == ["alice@example.org"]
    # the sender can read its own copy (it is a recipient too), but without the CA
    # the signature is good yet not trusted
    mine = smime.open_message(raw, identity=alice.identity)
    assert mine.text == opened.text
    assert mine.signature is not None and not mine.signature.trusted


def test_a_stranger_cannot_decrypt(pki: SmimePKI, alice: Person, bob: Person) -> None:
    eve = pki.person("eve@example.org")
    with pytest.raises(SecureMessageError, match="cannot decrypt"):
        smime.decrypt(_message(alice, bob), eve.identity)
    with pytest.raises(SecureMessageError, match="no identity"):
        smime.open_message(_message(alice, bob))


def test_tampered_signed_content_is_refused(pki: SmimePKI, alice: Person) -> None:
    entity = b"Content-Type: text/plain; charset=utf-8\r\n\r\nPay 100 EUR\r\n"
    signed = smime.sign(entity, alice.identity)
    good = smime.verify(signed, [pki.ca])
    assert good.trusted and good.content.endswith(b"Pay 100 EUR\r\n")
    with pytest.raises(SecureMessageError, match="changed after it was signed"):
        smime.verify(signed.replace(b"Pay 100 EUR", b"Pay 900 EUR"), [pki.ca])
    # a signature from a CA we do not know verifies but is not trusted
    stranger = SmimePKI(pki.directory / "other").person("alice@example.org")
    forged = smime.sign(entity, stranger.identity)
    assert not smime.verify(forged, [pki.ca]).trusted
    with pytest.raises(SecureMessageError, match="not an S/MIME signed"):
        smime.verify(entity)


def test_unsupported_parameters(alice: Person, bob: Person) -> None:
    with pytest.raises(ConfigurationError, match="AES-256"):
        smime.encrypt(b"x", [bob.cert], encryption_level="DES")
    with pytest.raises(ConfigurationError):
        smime.encrypt(b"x", [])
    with pytest.raises(ConfigurationError):
        smime.sign(b"x", alice.identity, digest="md5")
    with pytest.raises(SecureMessageError, match="does not belong"):
        Identity.from_pem(alice.cert_pem, bob.key_pem)
    with pytest.raises(SecureMessageError, match="not a certificate"):
        CertificateDirectory(Path("/nonexistent")).import_certificate(b"garbage")


def test_certificate_directory(tmp_path: Path, pki: SmimePKI, alice: Person,
                               bob: Person) -> None:
    certs = CertificateDirectory(tmp_path / "certs")
    assert certs.identity() is None
    with pytest.raises(CertificateNotFound) as info:
        certs.certificate_for("bob@example.org")
    assert isinstance(info.value, NotFound | LookupError)
    assert certs.import_certificate(bob.cert_path) == ["bob@example.org"]
    assert certs.import_certificate(bob.cert_pem) == ["bob@example.org"]  # same file again
    assert len(list(certs.contacts_dir.glob("*.pem"))) == 1
    assert certs.certificate_for("BOB@example.org ") == bob.cert
    expired = pki.person("old@example.org", days=-2)
    certs.import_certificate(expired.cert_pem)
    with pytest.raises(CertificateNotFound):
        certs.certificate_for("old@example.org")  # only an expired one
    me = certs.set_identity(alice.cert_pem, alice.key_pem)
    assert me.address == "alice@example.org"
    assert (tmp_path / "certs" / "identity" / "key.pem").stat().st_mode & 0o077 == 0
    loaded = certs.identity()
    assert loaded is not None and loaded.certificate == alice.cert
    assert certs.remove_for("bob@example.org") == 1
    with pytest.raises(CertificateNotFound):
        certs.certificate_for("bob@example.org")


def _issued_by(issuer: Person, address: str, *, eku: x509.ObjectIdentifier | None = None
               ) -> Person:
    """A certificate for ``address`` signed by ``issuer``'s key (a leaf, not a CA)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, address)]))
        .issuer_name(issuer.cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=5))
        .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(address)]), critical=False)
    )
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
    cert = builder.sign(issuer.key, hashes.SHA256())
    return Person(address, cert, key, Path("/nonexistent"), Path("/nonexistent"))


def test_trust_needs_a_ca_chain_and_an_email_certificate(pki: SmimePKI, alice: Person,
                                                         bob: Person) -> None:
    entity = b"Content-Type: text/plain\r\n\r\nhi\r\n"
    # bob's certificate is trusted (an anchor) but is no CA: what it "issues" is not trusted
    minted = _issued_by(bob, "mallory@example.org")
    signed = smime.sign(entity, minted.identity)
    assert smime.verify(signed, [bob.cert]).signer == minted.cert
    assert not smime.verify(signed, [bob.cert]).trusted
    # a certificate for TLS servers only is not one for signing mail, even from our CA
    server = _issued_by(Person("ca", pki.ca, pki.ca_key, pki.ca_path, pki.ca_path),
                        "web@example.org", eku=ExtendedKeyUsageOID.SERVER_AUTH)
    assert not smime.verify(smime.sign(entity, server.identity), [pki.ca]).trusted
    client = _issued_by(Person("ca", pki.ca, pki.ca_key, pki.ca_path, pki.ca_path),
                        "ok@example.org", eku=ExtendedKeyUsageOID.EMAIL_PROTECTION)
    assert smime.verify(smime.sign(entity, client.identity), [pki.ca]).trusted
    # and validity is checked at the time asked for
    later = datetime.now(UTC) + timedelta(days=60)
    assert not smime.verify(smime.sign(entity, alice.identity), [pki.ca], now=later).trusted
