"""The DLP scanner finds what is real and lets look-alikes pass."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.errors import PolicyViolation, ValidationError
from services.security.dlp import DlpAction, DlpPolicy, redact, scan
from services.security.hooks import outgoing_texts


def kinds(text: str) -> list[str]:
    return [f.kind for f in scan(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pay with 4111 1111 1111 1111 please", ["card-number"]),
        ("pay with 4111-1111-1111-1111 please", ["card-number"]),
        ("amex 378282246310005", ["card-number"]),
        ("mastercard 5555555555554444", ["card-number"]),
        ("IBAN GB82 WEST 1234 5698 7654 32", ["iban"]),
        ("to DE89370400440532013000 today", ["iban"]),
        ("my SSN is 123-45-6789", ["us-ssn"]),
        ("AKIAIOSFODNN7EXAMPLE", ["aws-key"]),
        ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ["aws-key"]),
        ("token ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2, ["github-token"]),
        ("xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", ["slack-token"]),
        ("AIzaSyA-1234567890abcdefghijklmnopqrstu", ["google-api-key"]),
        ("config: api_key=Zx8q2LmN4vB7tR1yW9pK3sD6", ["generic-secret"]),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
         ["private-key"]),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn", ["private-key"]),
        ("-----BEGIN PRIVATE KEY-----\nMIIE", ["private-key"]),
    ],
)
def test_finds_real_items(text: str, expected: list[str]) -> None:
    assert kinds(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "pay with 4111 1111 1111 1112 please",  # Luhn fails
        "order 1234567890123456",  # Luhn fails
        "tracking 0000000000000000",  # Luhn passes, no issuer starts with 0
        "IBAN GB82 WEST 1234 5698 7654 33",  # mod-97 fails
        "SSN 000-12-3456 or 666-12-3456 or 123-00-4567",  # never issued
        "password=correcthorsebatterystaple",  # English words: low entropy
        "key = aaaaaaaaaaaaaaaaaaaaaaaa",
        "-----BEGIN PUBLIC KEY-----\nMIIB",
        "ghp_short",
        "2024-01-01 12:30 meeting about 4111",
    ],
)
def test_lets_look_alikes_pass(text: str) -> None:
    assert scan(text) == []


def test_ssn_shape_with_valid_area_is_found() -> None:
    assert kinds("call 555-12-1234 now") == ["us-ssn"]  # a plausible SSN shape is flagged


def test_findings_never_carry_the_secret() -> None:
    (f,) = scan("card: 4111111111111111")
    assert f.hint == "•••• 1111" and "4111111111111111" not in repr(f)
    assert f.label == "a payment card number"
    assert redact("x 4111111111111111 y") == "x [redacted: card-number] y"


def test_policy_block_warn_allow() -> None:
    policy = DlpPolicy()
    with pytest.raises(PolicyViolation, match="payment card number") as info:
        policy.enforce("hello", "card 4111 1111 1111 1111")
    assert isinstance(info.value, ValidationError) and isinstance(info.value, ValueError)
    assert info.value.findings == ("card-number",)
    assert "4111 1111" not in str(info.value)
    decision = policy.enforce("IBAN DE89370400440532013000")
    assert decision.allowed and [f.kind for f in decision.warned] == ["iban"]
    assert "warning" in decision.explain()
    assert policy.enforce("card 4111 1111 1111 1112").kinds == ()
    relaxed = DlpPolicy(actions={"card-number": DlpAction.ALLOW})
    assert relaxed.check("4111 1111 1111 1111").kinds == ()
    assert relaxed.action("us-ssn") is DlpAction.BLOCK  # unknown to the map: the default


def test_outgoing_texts_reads_parts_and_text_attachments() -> None:
    from services.compose import ComposeBuilder
    from services.compose.builder import Identity

    builder = (
        ComposeBuilder(identity=Identity("me@example.org"))
        .to("bob@example.org")
        .subject("Subject ünïcode")
        .body("plain body")
        .html("<p>html body</p>")
        .attach(("keys.env", b"AWS=AKIAIOSFODNN7EXAMPLE\n", "application/octet-stream"))
        .attach(("photo.png", b"\x89PNG 4111111111111111", "image/png"))
    )
    texts = outgoing_texts(builder.build())
    joined = "\n".join(texts)
    assert "Subject ünïcode" in texts[0]
    assert "plain body" in joined and "html body" in joined
    assert "AKIAIOSFODNN7EXAMPLE" in joined
    assert "4111111111111111" not in joined  # binary attachments are not looked into


@given(st.text(alphabet="abcdefghij klmnop.,;", max_size=200))
def test_plain_prose_has_no_findings(text: str) -> None:
    assert scan(text) == []


@given(st.from_regex(r"4[0-9]{15}", fullmatch=True))
def test_every_16_digit_visa_is_flagged_iff_luhn_valid(number: str) -> None:
    from stdnum import luhn

    assert (kinds(f"n {number} n") == ["card-number"]) == luhn.is_valid(number)
