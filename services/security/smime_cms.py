"""CMS SignedData verification for S/MIME (RFC 5652), the part ``cryptography`` lacks.

``asn1crypto`` parses the structure; the digest and the signature (RSA PKCS#1 v1.5, RSA-PSS,
ECDSA) are checked with ``cryptography``'s public-key primitives, and the signer's chain is
walked to the trusted anchors.  :mod:`services.security.smime` builds on this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asn1crypto import cms  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from services.errors import MessageError

__all__ = [
    "SecureMessageError",
    "Verified",
    "certificate_addresses",
    "is_ca",
    "valid_at",
    "verify_signed_data",
]

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1, "sha224": hashes.SHA224, "sha256": hashes.SHA256,
    "sha384": hashes.SHA384, "sha512": hashes.SHA512,
}
_MAX_CHAIN = 6


class SecureMessageError(MessageError, ValueError):
    """An S/MIME message that cannot be decrypted, or whose signature does not verify."""

    def __init__(self, message: str) -> None:
        super().__init__(message, error_type="SECURITY")


# -- certificates ---------------------------------------------------------------------------
def certificate_addresses(cert: x509.Certificate) -> list[str]:
    """The e-mail addresses a certificate is for (lower-cased, SAN first)."""
    found: list[str] = []
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        found += [str(v) for v in san.get_values_for_type(x509.RFC822Name)]
    except x509.ExtensionNotFound:
        pass
    found += [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS)]
    return list(dict.fromkeys(a.strip().lower() for a in found if a.strip()))


def valid_at(cert: x509.Certificate, now: datetime) -> bool:
    return cert.not_valid_before_utc <= now <= cert.not_valid_after_utc


@dataclass(frozen=True)
class Verified:
    """A good signature: the signed entity, who signed it, and whether we trust them."""

    content: bytes
    signer: x509.Certificate
    trusted: bool
    signed_at: datetime | None = None

    @property
    def signer_addresses(self) -> list[str]:
        return certificate_addresses(self.signer)


def _public_verify(cert: x509.Certificate, signature: bytes, data: bytes,
                   algo_name: str, digest: hashes.HashAlgorithm, params: Any) -> None:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if algo_name == "rsassa_pss":
            salt = int(params["salt_length"].native) if params is not None else 20
            key.verify(signature, data, padding.PSS(padding.MGF1(digest), salt), digest)
        else:
            key.verify(signature, data, padding.PKCS1v15(), digest)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature, data, ec.ECDSA(digest))
    else:
        raise SecureMessageError("unsupported signer key type")


def _find_signer(sid: Any, certs: Sequence[x509.Certificate]) -> x509.Certificate:
    if sid.name == "issuer_and_serial_number":
        serial = int(sid.chosen["serial_number"].native)
        issuer = sid.chosen["issuer"].dump()
        for cert in certs:
            if cert.serial_number == serial and cert.issuer.public_bytes() == issuer:
                return cert
    else:
        ski = bytes(sid.chosen.native)
        for cert in certs:
            try:
                ext = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            except x509.ExtensionNotFound:
                continue
            if ext.value.digest == ski:
                return cert
    raise SecureMessageError("the signer's certificate is not in the message")


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _for_email(cert: x509.Certificate) -> bool:
    """No extended key usage, or one that allows e-mail protection."""
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True
    allowed = (ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE)
    return any(u in allowed for u in usages)


def _trusted(cert: x509.Certificate, pool: Sequence[x509.Certificate],
             anchors: Sequence[x509.Certificate], now: datetime) -> bool:
    """Whether ``cert`` is an anchor itself or chains to one through CA certificates (each
    valid at ``now``); the signer must be allowed to protect e-mail."""
    if not _for_email(cert):
        return False
    anchor_prints = {a.fingerprint(hashes.SHA256()) for a in anchors}
    current = cert
    for _ in range(_MAX_CHAIN):
        if not valid_at(current, now):
            return False
        if current.fingerprint(hashes.SHA256()) in anchor_prints:
            return True
        for issuer in [*anchors, *pool]:
            if issuer.subject != current.issuer or issuer == current or not is_ca(issuer):
                continue
            try:
                current.verify_directly_issued_by(issuer)
            except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
                continue
            current = issuer
            break
        else:
            return False
    return False


def _check_signer_info(info: Any, content: bytes, cert: x509.Certificate,
                       signature_bytes: bytes) -> datetime | None:
    digest_name = str(info["digest_algorithm"]["algorithm"].native)
    algo = _HASHES.get(digest_name)
    if algo is None:
        raise SecureMessageError(f"unsupported digest {digest_name}")
    sig_algo = info["signature_algorithm"]
    algo_name = str(sig_algo["algorithm"].native)
    params = sig_algo["parameters"] if algo_name == "rsassa_pss" else None
    if params is not None:
        algo = _HASHES.get(str(params["hash_algorithm"]["algorithm"].native), algo)
    signed_attrs = info["signed_attrs"]
    signed_at: datetime | None = None
    if signed_attrs.native is None or len(signed_attrs) == 0:
        data = content
    else:
        attrs = {str(a["type"].native): a["values"] for a in signed_attrs}
        wanted = attrs.get("message_digest")
        if wanted is None:
            raise SecureMessageError("the signature has no message digest")
        h = hashes.Hash(algo())
        h.update(content)
        if bytes(wanted[0].native) != h.finalize():
            raise SecureMessageError("the message was changed after it was signed")
        if "signing_time" in attrs:
            value = attrs["signing_time"][0].native
            signed_at = value if isinstance(value, datetime) else None
        data = b"\x31" + signed_attrs.dump()[1:]  # [0] IMPLICIT -> SET OF for the signature
    try:
        _public_verify(cert, signature_bytes, data, algo_name, algo(), params)
    except InvalidSignature as exc:
        raise SecureMessageError("the signature does not verify") from exc
    return signed_at


def verify_signed_data(der: bytes, detached: bytes | None,
                        trusted: Sequence[x509.Certificate], now: datetime) -> Verified:
    try:
        info = cms.ContentInfo.load(der)
        if info["content_type"].native != "signed_data":
            raise SecureMessageError("not a CMS SignedData structure")
        signed = info["content"]
        embedded = [x509.load_der_x509_certificate(c.chosen.dump())
                    for c in (signed["certificates"] or []) if c.name == "certificate"]
        content = detached
        if content is None:
            encap = signed["encap_content_info"]["content"]
            if encap.native is None:
                raise SecureMessageError("detached signature without the signed content")
            content = bytes(encap.native)
        signer_infos = list(signed["signer_infos"])
        if not signer_infos:
            raise SecureMessageError("the message carries no signature")
        for signer_info in signer_infos:
            cert = _find_signer(signer_info["sid"], [*embedded, *trusted])
            signed_at = _check_signer_info(signer_info, content, cert,
                                           bytes(signer_info["signature"].native))
        return Verified(content, cert, _trusted(cert, embedded, trusted, now), signed_at)
    except SecureMessageError:
        raise
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise SecureMessageError(f"unreadable S/MIME signature: {exc}") from exc
