"""A throw-away S/MIME PKI (CA + per-person certificates) written to real files for openssl,
and the ``pki``/``alice``/``bob`` fixtures (registered as a plugin in tests/conftest.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from services.security.smime import Identity

_NOW = dt.datetime.now(dt.UTC)


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Person:
    address: str
    cert: x509.Certificate
    key: rsa.RSAPrivateKey
    cert_path: Path
    key_path: Path

    @property
    def identity(self) -> Identity:
        """This person as the S/MIME identity Commhub signs and decrypts with."""
        return Identity.from_pem(self.cert_pem, self.key_pem)

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())


class SmimePKI:
    """A CA in ``directory`` issuing S/MIME certificates (emailProtection, SAN rfc822Name)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.ca_key = _key()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Commhub test S/MIME CA")])
        self.ca = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(self.ca_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(_NOW - dt.timedelta(days=1))
            .not_valid_after(_NOW + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.ca_key.public_key()),
                           critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )
        self.ca_path = directory / "ca.pem"
        self.ca_path.write_bytes(self.ca.public_bytes(serialization.Encoding.PEM))

    def person(self, address: str, *, days: int = 30) -> Person:
        """A certificate valid until ``days`` from now (negative: already expired)."""
        key = _key()
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, address)]))
            .issuer_name(self.ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_NOW - dt.timedelta(days=max(1, 1 - days)))
            .not_valid_after(_NOW + dt.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(address)]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
                           critical=False)
            .add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False,
                                         False), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                self.ca_key.public_key()), critical=False)
            .sign(self.ca_key, hashes.SHA256())
        )
        stem = address.replace("@", "_at_")
        person = Person(address, cert, key, self.directory / f"{stem}.pem",
                        self.directory / f"{stem}.key")
        person.cert_path.write_bytes(person.cert_pem)
        person.key_path.write_bytes(person.key_pem)
        return person


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> SmimePKI:
    return SmimePKI(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def alice(pki: SmimePKI) -> Person:
    return pki.person("alice@example.org")


@pytest.fixture(scope="session")
def bob(pki: SmimePKI) -> Person:
    return pki.person("bob@example.org")
