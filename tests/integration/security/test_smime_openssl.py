"""S/MIME interoperability with a real peer: the ``openssl smime`` / ``openssl cms`` commands.

Commhub's output is decrypted and verified by openssl; openssl's output (signed detached,
signed opaque, encrypted, signed then encrypted) is verified and decrypted by Commhub.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from services.security import smime
from services.security.smime import SecureMessageError
from tests.unit.security.pki_helpers import Person, SmimePKI

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed")


def _openssl(*args: str | Path, stdin: bytes | None = None, ok: bool = True) -> bytes:
    assert OPENSSL is not None
    done = subprocess.run([OPENSSL, *map(str, args)], input=stdin, capture_output=True,
                          timeout=60, check=False)
    if ok:
        assert done.returncode == 0, done.stderr.decode(errors="replace")
    else:
        assert done.returncode != 0, "openssl accepted what it should refuse"
    return done.stdout


BODY = "Sensitive financial data: revenue 1.2M EUR\nSecond line — ünïcode\n"


@pytest.mark.parametrize("level", ["AES-256", "AES-128"])
def test_openssl_decrypts_and_verifies_commhub_output(
    tmp_path: Path, pki: SmimePKI, alice: Person, bob: Person, level: str
) -> None:
    raw = smime.build_secure_message(
        sender=alice.address, recipient=bob.address, subject="Confidential: Financial Report",
        body=BODY, recipient_cert=bob.cert, identity=alice.identity, encryption_level=level)
    src = tmp_path / "out.eml"
    src.write_bytes(raw)
    printed = _openssl("cms", "-cmsout", "-print", "-in", src).decode()
    assert f"aes-{level[-3:]}-cbc" in printed
    decrypted = _openssl("smime", "-decrypt", "-in", src, "-recip", bob.cert_path,
                         "-inkey", bob.key_path)
    assert b"multipart/signed" in decrypted
    inner = tmp_path / "inner.eml"
    inner.write_bytes(decrypted)
    content = _openssl("smime", "-verify", "-in", inner, "-CAfile", pki.ca_path)
    assert "revenue 1.2M EUR" in content.decode()
    # openssl cms agrees, and refuses a signature whose content was changed
    _openssl("cms", "-verify", "-in", inner, "-CAfile", pki.ca_path)
    tampered = tmp_path / "tampered.eml"
    tampered.write_bytes(decrypted.replace(b"revenue", b"REVENUE"))
    _openssl("cms", "-verify", "-in", tampered, "-CAfile", pki.ca_path, ok=False)
    # the sender's own copy decrypts with the sender's key too
    _openssl("cms", "-decrypt", "-in", src, "-recip", alice.cert_path, "-inkey", alice.key_path)


def test_commhub_verifies_openssl_signatures(tmp_path: Path, pki: SmimePKI,
                                             alice: Person) -> None:
    body = tmp_path / "body.txt"
    body.write_text("Signed by openssl\nline two\n")
    detached = _openssl("smime", "-sign", "-text", "-in", body, "-signer", alice.cert_path,
                        "-inkey", alice.key_path, "-from", alice.address, "-to",
                        "bob@example.org", "-subject", "signed")
    opaque = _openssl("smime", "-sign", "-nodetach", "-in", body, "-signer", alice.cert_path,
                      "-inkey", alice.key_path)
    cms_pss = _openssl("cms", "-sign", "-in", body, "-signer", alice.cert_path, "-inkey",
                       alice.key_path, "-keyopt", "rsa_padding_mode:pss", "-md", "sha384")
    for raw in (detached, opaque, cms_pss):
        result = smime.verify(raw, [pki.ca])
        assert result.trusted
        assert result.signer == alice.cert
        assert b"Signed by openssl" in result.content
    assert smime.open_message(detached, trusted=[pki.ca]).text == (
        "Signed by openssl\nline two\n")
    with pytest.raises(SecureMessageError):
        smime.verify(detached.replace(b"line two", b"line 2!!"), [pki.ca])


def test_commhub_decrypts_openssl_encryption(tmp_path: Path, pki: SmimePKI, alice: Person,
                                             bob: Person) -> None:
    body = tmp_path / "body.txt"
    body.write_text("Encrypted by openssl\n")
    signed = tmp_path / "signed.eml"
    signed.write_bytes(_openssl("smime", "-sign", "-text", "-in", body, "-signer",
                                alice.cert_path, "-inkey", alice.key_path))
    both = _openssl("smime", "-encrypt", "-aes256", "-in", signed, "-from", alice.address,
                    "-to", bob.address, "-subject", "both", bob.cert_path)
    opened = smime.open_message(both, identity=bob.identity, trusted=[pki.ca])
    assert opened.layers == ("encrypted", "signed")
    assert opened.text == "Encrypted by openssl\n"
    assert opened.signature is not None and opened.signature.signer_addresses == [alice.address]
    only = _openssl("cms", "-encrypt", "-aes128", "-in", body, bob.cert_path)
    assert b"Encrypted by openssl" in smime.decrypt(only, bob.identity)
    with pytest.raises(SecureMessageError):
        smime.decrypt(only, alice.identity)


def test_an_openssl_message_in_the_store_opens_through_the_manager(
    tmp_path: Path, pki: SmimePKI, alice: Person, bob: Person
) -> None:
    from services.manager import CommManager
    from services.security.secrets import MemorySecrets

    body = tmp_path / "body.txt"
    body.write_text("Board minutes attached\n")
    signed = tmp_path / "signed.eml"
    signed.write_bytes(_openssl("smime", "-sign", "-text", "-in", body, "-signer",
                                alice.cert_path, "-inkey", alice.key_path))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "1.eml").write_bytes(_openssl(
        "smime", "-encrypt", "-aes256", "-in", signed, "-from", alice.address, "-to",
        bob.address, "-subject", "Minutes", bob.cert_path))
    with CommManager(data_dir=tmp_path / "data", secrets=MemorySecrets()) as comm:
        comm.certificates.set_identity(bob.cert_pem, bob.key_pem)
        with pytest.raises(SecureMessageError, match="CA certificate"):
            comm.certificates.add_trust_anchor(alice.cert_pem)
        assert comm.import_path(inbox).added == 1
        (stored,) = comm.search("subject:Minutes")
        assert comm.count("Board") == 0  # ciphertext: the body is not indexed
        untrusted = comm.open_secure_message(stored.id)
        assert untrusted.text == "Board minutes attached\n"
        assert not untrusted.signed_by(alice.address)  # good signature, unknown CA
        comm.certificates.add_trust_anchor(pki.ca_path.read_bytes())
        opened = comm.open_secure_message(stored.id)
        assert stored.sender is not None and opened.signed_by(stored.sender.address)
        assert not opened.signed_by("mallory@example.org")
