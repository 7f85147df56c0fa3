"""Standard Webhooks signing: the specification's test vector, the worked example and the
receiver code in docs/service.md, and the one-release compatibility header."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from casewatch.notifications.channels import (
    ID_HEADER,
    STANDARD_SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
    standard_headers,
)

SERVICE_DOC = Path(__file__).resolve().parents[2] / "docs" / "service.md"
# The Standard Webhooks specification's published test vector.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIME = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def doc_section() -> str:
    text = SERVICE_DOC.read_text()
    start = text.index("## Webhooks")
    return text[start : text.index("\n## ", start + 1)]


def worked_example() -> dict[str, str]:
    block = re.search(r"```text\n(.*?)```", doc_section(), flags=re.S)
    assert block, "no worked example in docs/service.md"
    return {
        name.strip(): value.strip()
        for name, value in (line.split(":", 1) for line in block.group(1).splitlines())
    }


def documented_verify() -> Any:
    """The receiver's verify() exactly as docs/service.md prints it."""
    code = re.search(r"```python\n(.*?)```", doc_section(), flags=re.S)
    assert code, "no receiver code in docs/service.md"
    namespace: dict[str, Any] = {}
    exec(code.group(1), namespace)
    return namespace["verify"]


def test_casewatch_signs_the_specifications_test_vector() -> None:
    """Our signer reproduces the signature the Standard Webhooks specification publishes."""
    headers = standard_headers(
        VECTOR_ID, VECTOR_BODY, VECTOR_SECRET, datetime.fromtimestamp(VECTOR_TIME, UTC)
    )
    assert headers == {
        ID_HEADER: VECTOR_ID,
        TIMESTAMP_HEADER: "1614265330",
        STANDARD_SIGNATURE_HEADER: VECTOR_SIGNATURE,
    }


def test_the_worked_example_in_the_docs_is_the_vector_and_verifies() -> None:
    """docs/service.md's example is the vector, and its receiver code accepts it."""
    example = worked_example()
    assert example["secret"] == VECTOR_SECRET
    assert example["webhook-id"] == VECTOR_ID
    assert example["webhook-timestamp"] == str(VECTOR_TIME)
    assert example["body"].encode() == VECTOR_BODY
    assert example["signed text"] == f"{VECTOR_ID}.{VECTOR_TIME}.{VECTOR_BODY.decode()}"
    assert example["webhook-signature"] == VECTOR_SIGNATURE
    headers = {k: example[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    verify = documented_verify()
    assert verify(example["secret"], headers, example["body"].encode(), now=VECTOR_TIME + 10)


def test_the_documented_receiver_refuses_replays_and_tampering() -> None:
    """Six minutes later the same delivery is refused; so is a changed body or id."""
    verify = documented_verify()
    headers = {"webhook-id": VECTOR_ID, "webhook-timestamp": str(VECTOR_TIME)}
    headers["webhook-signature"] = VECTOR_SIGNATURE
    assert not verify(VECTOR_SECRET, headers, VECTOR_BODY, now=VECTOR_TIME + 360)
    assert not verify(VECTOR_SECRET, headers, b'{"test": 2432232315}', now=VECTOR_TIME)
    other_id = {**headers, "webhook-id": "msg_other"}
    assert not verify(VECTOR_SECRET, other_id, VECTOR_BODY, now=VECTOR_TIME)


def test_a_delivery_signed_now_verifies_with_the_library() -> None:
    """A receiver using the standardwebhooks library accepts what casewatch sends now,
    and refuses it under another secret."""
    body = b'{"case_id": "C1", "level": "breach"}'
    secret = "whsec_" + "c2VjcmV0LWtleS1mb3ItY2FzZXdhdGNoLXRlc3Rz"
    headers = standard_headers("casewatch-alert-1-breach", body, secret, datetime.now(UTC))
    assert Webhook(secret).verify(body, headers) == {"case_id": "C1", "level": "breach"}
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "b3RoZXItc2VjcmV0").verify(body, headers)


def test_an_older_free_text_secret_keys_both_signatures_by_its_bytes() -> None:
    """A secret without whsec_ still signs: its UTF-8 bytes are the key, for the standard
    headers and for the compatibility header alike."""
    body, at = b"{}", datetime(2026, 6, 15, 9, 0, tzinfo=UTC)
    headers = standard_headers("id-1", body, "old secret", at)
    stamp = int(at.timestamp())
    mac = hmac.new(b"old secret", f"id-1.{stamp}.{{}}".encode(), hashlib.sha256).digest()
    assert headers[STANDARD_SIGNATURE_HEADER] == "v1," + base64.b64encode(mac).decode()
    assert sign(body, "old secret") == (
        "sha256=" + hmac.new(b"old secret", body, hashlib.sha256).hexdigest()
    )
