"""Device keys, signatures and signed requests (app.sync.signing)."""

from __future__ import annotations

import base64
import datetime as dt
import os
import stat
from pathlib import Path

import pytest

from app.errors import DomainError
from app.sync.signing import (
    HEADER_DEVICE,
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    DeviceKey,
    DeviceKeyError,
    SignatureError,
    canonical,
    check_request,
    request_device,
    request_digest,
    sign_request,
    verify,
)

NOW = dt.datetime(2025, 3, 14, 9, 30, tzinfo=dt.UTC)
BODY = b'{"changes":[{"table":"cases","row_id":"0190"}]}'


@pytest.fixture(scope="module")
def key() -> DeviceKey:
    return DeviceKey.generate()


def test_key_round_trips_through_a_file_readable_by_the_owner_only(tmp_path: Path, key: DeviceKey) -> None:
    path = tmp_path / "keys" / "device.pem"
    key.save(path)

    text = path.read_text("ascii")
    assert text.startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8, unencrypted
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["device.pem"]  # no temporary file left

    loaded = DeviceKey.load(path)
    assert loaded.public_pem() == key.public_pem()
    assert verify(key.public_pem(), b"data", loaded.sign(b"data"))
    assert "PRIVATE" not in repr(loaded)


def test_save_replaces_an_existing_key_atomically(tmp_path: Path) -> None:
    path = tmp_path / "device.pem"
    DeviceKey.generate().save(path)
    second = DeviceKey.generate()
    second.save(path)
    assert DeviceKey.load(path).public_pem() == second.public_pem()
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_missing_or_damaged_key_file_says_to_enroll_again(tmp_path: Path) -> None:
    with pytest.raises(DeviceKeyError, match="重新登记"):
        DeviceKey.load(tmp_path / "absent.pem")
    damaged = tmp_path / "damaged.pem"
    damaged.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(DeviceKeyError, match="已损坏"):
        DeviceKey.load(damaged)


def test_verify_accepts_the_signature_and_nothing_else(key: DeviceKey) -> None:
    signature = key.sign(b"payload")
    assert verify(key.public_pem(), b"payload", signature)

    other = DeviceKey.generate()
    raw = bytearray(base64.b64decode(signature))
    raw[10] ^= 0x01
    assert not verify(key.public_pem(), b"payload!", signature)  # other data
    assert not verify(other.public_pem(), b"payload", signature)  # other key
    assert not verify(key.public_pem(), b"payload", base64.b64encode(bytes(raw)).decode())  # one bit
    assert not verify(key.public_pem(), b"payload", "not base64 at all!")
    assert not verify(key.public_pem(), b"payload", signature[:-4])
    assert not verify(key.public_pem(), b"payload", "")
    assert not verify(
        "-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n", b"payload", signature
    )
    assert not verify("", b"payload", signature)


def test_verify_refuses_a_non_canonical_spelling_of_the_signature(key: DeviceKey) -> None:
    # 64 bytes leave 4 spare bits in the last base64 character; decoders ignore them.
    signature = key.sign(b"payload")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = signature[-3]
    twin = signature[:-3] + alphabet[alphabet.index(last) ^ 0x01] + signature[-2:]
    assert base64.b64decode(twin) == base64.b64decode(signature)
    assert not verify(key.public_pem(), b"payload", twin)


def test_canonical_json_has_one_spelling() -> None:
    assert canonical({"b": 1, "a": [1, "执法"], "c": None}) == '{"a":[1,"执法"],"b":1,"c":null}'.encode()
    assert canonical({"a": 1, "b": 2}) == canonical({"b": 2, "a": 1})
    assert canonical({"text": "第一行\n第二行"}).count(b"\n") == 0
    with pytest.raises(ValueError):
        canonical({"x": float("nan")})


def test_request_digest_lists_the_fields_one_per_line() -> None:
    digest = request_digest("post", "/api/push?resume=1", "2025-03-14T09:30:00+00:00", "n" * 20, b"{}")
    assert digest.decode().split("\n") == [
        "POST",
        "/api/push?resume=1",
        "2025-03-14T09:30:00+00:00",
        "n" * 20,
        "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",  # sha256 of "{}"
    ]
    with pytest.raises(ValueError):
        request_digest("POST", "/api/push\nX", "t", "n" * 20, b"")


def test_a_signed_request_checks_out_and_returns_its_nonce(key: DeviceKey) -> None:
    headers = sign_request(key, "dev-1", "POST", "/api/push", BODY, now=NOW)
    assert set(headers) == {HEADER_DEVICE, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE}
    assert request_device(headers) == "dev-1"

    checked = check_request(headers, "post", "/api/push", BODY, key.public_pem(), now=NOW)
    assert checked.device_id == "dev-1"
    assert checked.nonce == headers[HEADER_NONCE]
    assert checked.timestamp == headers[HEADER_TIMESTAMP] == NOW.isoformat()
    assert checked.clock_skew == dt.timedelta(0)
    assert not checked.clock_suspect

    # Header names arrive in any case from an HTTP stack.
    lowered = {name.lower(): value for name, value in headers.items()}
    assert check_request(lowered, "POST", "/api/push", BODY, key.public_pem(), now=NOW).nonce == checked.nonce


def test_each_request_gets_a_fresh_nonce(key: DeviceKey) -> None:
    nonces = {sign_request(key, "dev-1", "GET", "/api/pull", b"")[HEADER_NONCE] for _ in range(50)}
    assert len(nonces) == 50


def test_a_device_clock_a_year_off_is_accepted_and_flagged_not_refused(key: DeviceKey) -> None:
    year_ago = NOW - dt.timedelta(days=365)
    headers = sign_request(key, "dev-1", "POST", "/api/push", BODY, now=year_ago)
    checked = check_request(headers, "POST", "/api/push", BODY, key.public_pem(), now=NOW)
    assert checked.clock_skew == dt.timedelta(days=-365)
    assert checked.clock_suspect


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/push", BODY + b" "),  # changed body
        ("POST", "/api/pull", BODY),  # changed path
        ("PUT", "/api/push", BODY),  # changed method
        ("POST", "/api/push?x=1", BODY),  # added query
    ],
)
def test_a_changed_request_is_refused(key: DeviceKey, method: str, path: str, body: bytes) -> None:
    headers = sign_request(key, "dev-1", "POST", "/api/push", BODY, now=NOW)
    with pytest.raises(SignatureError) as caught:
        check_request(headers, method, path, body, key.public_pem(), now=NOW)
    assert caught.value.reason == "mismatch"
    assert isinstance(caught.value, DomainError)
    assert "签名" in str(caught.value) and "重新登记" in str(caught.value)


@pytest.mark.parametrize("header", [HEADER_TIMESTAMP, HEADER_NONCE])
def test_a_changed_timestamp_or_nonce_is_refused(key: DeviceKey, header: str) -> None:
    headers = sign_request(key, "dev-1", "POST", "/api/push", BODY, now=NOW, nonce="a" * 24)
    headers[header] = (NOW + dt.timedelta(seconds=1)).isoformat() if header == HEADER_TIMESTAMP else "b" * 24
    with pytest.raises(SignatureError) as caught:
        check_request(headers, "POST", "/api/push", BODY, key.public_pem(), now=NOW)
    assert caught.value.reason == "mismatch"


def test_a_request_signed_by_another_key_is_refused(key: DeviceKey) -> None:
    headers = sign_request(DeviceKey.generate(), "dev-1", "POST", "/api/push", BODY, now=NOW)
    with pytest.raises(SignatureError) as caught:
        check_request(headers, "POST", "/api/push", BODY, key.public_pem(), now=NOW)
    assert caught.value.reason == "mismatch"


def test_missing_and_malformed_signature_headers_are_refused(key: DeviceKey) -> None:
    with pytest.raises(SignatureError) as caught:
        check_request({}, "POST", "/api/push", BODY, key.public_pem(), now=NOW)
    assert caught.value.reason == "missing"
    assert "登记" in str(caught.value)
    with pytest.raises(SignatureError):
        request_device({})

    good = sign_request(key, "dev-1", "POST", "/api/push", BODY, now=NOW)
    for name in good:
        partial = {k: v for k, v in good.items() if k != name}
        with pytest.raises(SignatureError) as caught:
            check_request(partial, "POST", "/api/push", BODY, key.public_pem(), now=NOW)
        assert caught.value.reason == "malformed"

    for name, value in [
        (HEADER_TIMESTAMP, "yesterday"),
        (HEADER_TIMESTAMP, "2025-03-14T09:30:00"),
        (HEADER_NONCE, "short"),
    ]:
        bad = {**good, name: value}
        with pytest.raises(SignatureError) as caught:
            check_request(bad, "POST", "/api/push", BODY, key.public_pem(), now=NOW)
        assert caught.value.reason == "malformed"
        assert "升级" in str(caught.value)
