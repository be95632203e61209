"""Ed25519 signatures between a device and the district (设备签名).

Each installation makes one key pair when it is enrolled (登记) and registers the public half
with the district; everything it sends afterwards is signed: every HTTP request
(:func:`sign_request` / :func:`check_request`) and every offline bundle (app.sync.bundle). The
district signs its answer bundles and releases with its own key the same way.

What is signed is always bytes with one spelling: :func:`canonical` JSON for structured data,
:func:`request_digest` for a request. A signature travels as standard base64 text.

Replay protection for requests is **nonce-based, not time-based**. Field PCs run for weeks
without a network and their clocks drift — issue 6 tests clocks skewed by a whole year — so a
"timestamp within ±N minutes" window would lock exactly those devices out. Instead each request
carries a fresh random nonce inside the signed digest; :func:`check_request` only proves that the
device's key signed this method, path, body, timestamp and nonce, and returns the nonce for the
server to record (``district_nonces``): a nonce seen before is a replay. The timestamp is signed
and returned too, with the device's apparent clock skew, so the server can log it or warn the
squad that the PC's clock is wrong — but it never decides whether a request is accepted.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.errors import DomainError

HEADER_DEVICE = "X-Squaddesk-Device"
HEADER_TIMESTAMP = "X-Squaddesk-Timestamp"
HEADER_NONCE = "X-Squaddesk-Nonce"
HEADER_SIGNATURE = "X-Squaddesk-Signature"

#: A nonce is 16 to 64 URL-safe characters (the server keeps them in a 64-character column).
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
#: An Ed25519 signature is 64 bytes: 88 base64 characters with padding.
_SIGNATURE_BYTES = 64

SignatureFault = Literal["missing", "malformed", "mismatch"]


class SignatureError(DomainError):
    """A signed request that cannot be accepted. ``reason`` is ``missing`` (no signature
    headers), ``malformed`` (headers present but unusable) or ``mismatch`` (the signature does
    not match the request and the device's registered key)."""

    def __init__(self, reason: SignatureFault, message: str) -> None:
        super().__init__(message)
        self.reason: SignatureFault = reason


class DeviceKeyError(DomainError):
    """This installation's private key is missing, unreadable or damaged."""


class DeviceKey:
    """This installation's Ed25519 private key (设备密钥). Keep it in the data folder, never
    synced and never logged; ``repr`` does not show it."""

    __slots__ = ("_key",)

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key

    def __repr__(self) -> str:
        return "DeviceKey(<private>)"

    @classmethod
    def generate(cls) -> DeviceKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, path: Path) -> DeviceKey:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise DeviceKeyError(
                f"无法读取本机的设备密钥文件“{path}”：{exc.strerror or exc}。"
                "如果文件已丢失，请向区局申请新的登记码，重新登记本机。"
            ) from exc
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise DeviceKeyError(
                f"本机的设备密钥文件“{path}”已损坏，无法使用。请向区局申请新的登记码，重新登记本机。"
            ) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise DeviceKeyError(
                f"文件“{path}”不是本机的设备密钥（类型不符）。请向区局申请新的登记码，重新登记本机。"
            )
        return cls(key)

    def save(self, path: Path) -> None:
        """Write the key as unencrypted PKCS#8 PEM, readable by the owner only (0600). The file
        is written in full under a temporary name and then renamed, so a crash never leaves a
        half-written key behind the real name."""
        path = Path(path)
        pem = self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # mkstemp creates the file 0600 from the start: the key is never readable by others,
            # not even for the moment between creating and chmod-ing it.
            fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
        except OSError as exc:
            raise DeviceKeyError(
                f"无法在“{path.parent}”中保存设备密钥：{exc.strerror or exc}。请检查该文件夹的写权限。"
            ) from exc
        temp = Path(temp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp, 0o600)
            os.replace(temp, path)
        except OSError as exc:
            raise DeviceKeyError(
                f"保存设备密钥“{path}”时写盘失败：{exc.strerror or exc}。请检查磁盘空间和写权限后重试。"
            ) from exc
        finally:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()

    def public_pem(self) -> str:
        """The public key as SubjectPublicKeyInfo PEM text: what the district registers."""
        return (
            self._key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode("ascii")
        )

    def sign(self, data: bytes) -> str:
        """The signature of ``data`` as standard base64 text."""
        return base64.b64encode(self._key.sign(data)).decode("ascii")


def verify(public_pem: str, data: bytes, signature: str) -> bool:
    """Whether ``signature`` (base64) is the signature of ``data`` by the key ``public_pem``.
    Any fault — a damaged key, a key of another type, text that is not base64 — is ``False``."""
    try:
        key = serialization.load_pem_public_key(public_pem.encode("ascii"))
        raw = base64.b64decode(signature, validate=True)
    except (ValueError, TypeError, UnsupportedAlgorithm, binascii.Error, UnicodeEncodeError):
        return False
    if not isinstance(key, Ed25519PublicKey) or len(raw) != _SIGNATURE_BYTES:
        return False
    # Base64 leaves spare bits in the last character that decoders ignore: only the one
    # canonical spelling counts, so no changed character of a signature is ever accepted.
    if base64.b64encode(raw).decode("ascii") != signature:
        return False
    try:
        key.verify(raw, data)
    except InvalidSignature:
        return False
    return True


def canonical(obj: Any) -> bytes:
    """The one byte spelling of a JSON value that is signed: keys sorted, no spaces, UTF-8 text
    as is (not \\u-escaped). NaN and infinities are refused (``ValueError``): they are not JSON."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
        "utf-8"
    )


def request_digest(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    """What a device signs for one HTTP request: the method (upper case), the path as sent
    (with its query string, if any), the timestamp, the nonce and the sha256 hex of the body,
    one per line."""
    parts = [method.upper(), path, timestamp, nonce]
    if any("\n" in part for part in parts):
        # A line break inside a field would let two different requests share one digest.
        raise ValueError("request fields must not contain line breaks")
    return "\n".join([*parts, hashlib.sha256(body).hexdigest()]).encode("utf-8")


def sign_request(
    key: DeviceKey,
    device_id: str,
    method: str,
    path: str,
    body: bytes,
    *,
    now: dt.datetime | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """The headers that sign one request. ``now`` and ``nonce`` are for tests; by default the
    device's clock (UTC, whatever it says) and a fresh random nonce."""
    timestamp = (now or dt.datetime.now(dt.UTC)).isoformat()
    nonce = nonce or secrets.token_urlsafe(24)
    if not _NONCE.match(nonce):
        raise ValueError("a nonce is 16 to 64 URL-safe characters")
    return {
        HEADER_DEVICE: device_id,
        HEADER_TIMESTAMP: timestamp,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: key.sign(request_digest(method, path, timestamp, nonce, body)),
    }


@dataclass(frozen=True)
class SignedRequest:
    """A request whose signature checked out. The caller records ``nonce`` (and refuses it if
    already recorded: a replay); ``clock_skew`` is the device's clock minus the server's."""

    device_id: str
    timestamp: str
    nonce: str
    clock_skew: dt.timedelta
    #: The device's clock is off by more than ``max_skew``: worth a warning, never a refusal.
    clock_suspect: bool


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def request_device(headers: Mapping[str, str]) -> str:
    """The device a signed request claims to come from, to look up its public key before
    :func:`check_request`. Unverified until then."""
    device = _header(headers, HEADER_DEVICE)
    if not device:
        raise SignatureError("missing", _MISSING)
    return device


_MISSING = "请求没有设备签名，区局拒收。请先在本机完成登记（需要区局发放的登记码），再同步。"
_MALFORMED = "请求的设备签名格式不正确，区局拒收。请将本机的 SquadDesk 升级到最新版本后再同步。"
_MISMATCH = (
    "请求的设备签名与区局登记的本机公钥不符，区局拒收。"
    "若本机曾重新安装或重新登记，请向区局申请新的登记码，重新登记本机。"
)


def check_request(
    headers: Mapping[str, str],
    method: str,
    path: str,
    body: bytes,
    public_pem: str,
    now: dt.datetime,
    max_skew: dt.timedelta = dt.timedelta(minutes=10),
) -> SignedRequest:
    """Verify the signature headers of a request against the device's registered public key.

    Raises :class:`SignatureError` when they are missing, malformed or do not match. It does
    not judge the timestamp (see the module docstring) and does not remember nonces: the
    caller stores the returned nonce and refuses one it has seen.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    device = _header(headers, HEADER_DEVICE)
    timestamp = _header(headers, HEADER_TIMESTAMP)
    nonce = _header(headers, HEADER_NONCE)
    signature = _header(headers, HEADER_SIGNATURE)
    if not (device or timestamp or nonce or signature):
        raise SignatureError("missing", _MISSING)
    if not device or not timestamp or not nonce or not signature or not _NONCE.match(nonce):
        raise SignatureError("malformed", _MALFORMED)
    try:
        sent_at = dt.datetime.fromisoformat(timestamp)
        digest = request_digest(method, path, timestamp, nonce, body)
    except ValueError as exc:
        raise SignatureError("malformed", _MALFORMED) from exc
    if sent_at.tzinfo is None:
        raise SignatureError("malformed", _MALFORMED)
    if not verify(public_pem, digest, signature):
        raise SignatureError("mismatch", _MISMATCH)
    skew = sent_at - now
    return SignedRequest(
        device_id=device,
        timestamp=timestamp,
        nonce=nonce,
        clock_skew=skew,
        clock_suspect=abs(skew) > max_skew,
    )
