"""How a device talks to the district (传输层): the :class:`Transport` interface the sync client
uses, the one error it raises, and the HTTP implementation.

:class:`Transport` is three calls: ``call`` for JSON requests, ``put_bytes`` for a raw chunk of an
attachment, ``get_bytes`` for a chunk of one. Every failure is a :class:`SyncError`: ``code`` is
the server's ``error`` (``gap``, ``upgrade``, ``offset`` …) or ``network`` when the district was
not reached; ``transient`` says whether trying again later may help (network faults, time-outs,
5xx, 429) — the client retries those with backoff and keeps its outbox; others need a person.

:class:`HttpTransport` signs every request with the device key (:func:`app.sync.signing.sign_request`
over the method, the path with its query string as sent to the API — without any prefix of the
base URL, which a reverse proxy strips — and the body bytes) and sends the schema version in
``X-Squaddesk-Schema``.
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx
import orjson

from app.errors import DomainError
from app.sync.protocol import SCHEMA_HEADER, SCHEMA_VERSION
from app.sync.signing import DeviceKey, sign_request

#: Connect/read time-outs of one request, in seconds.
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
#: HTTP statuses worth retrying besides 5xx: request time-out and "too many requests".
_TRANSIENT_STATUS = frozenset({408, 429})


class SyncError(DomainError):
    """A sync request that failed. ``code``: the server's error code or ``network``;
    ``status``: the HTTP status (0 when the district was not reached); ``transient``: a retry
    later may succeed; ``body``: the server's JSON error answer (e.g. ``received`` of an
    ``offset`` error, ``acked_seq`` of a ``gap``)."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status: int = 0,
        transient: bool = False,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.transient = transient
        self.body: dict[str, Any] = body or {}

    @classmethod
    def from_answer(cls, status: int, body: Any) -> SyncError:
        """The error for an HTTP error answer ``{"error": code, "message": 中文, …}``."""
        data = body if isinstance(body, dict) else {}
        code = str(data.get("error") or f"http_{status}")
        message = str(
            data.get("message")
            or f"区局同步服务返回错误（HTTP {status}）。请稍后重试；如果一直出现，请联系区局。"
        )
        return cls(message, code=code, status=status, transient=is_transient_status(status), body=data)


def is_transient_status(status: int) -> bool:
    return status >= 500 or status in _TRANSIENT_STATUS


class Transport(Protocol):
    """What the sync client needs from a connection to the district. Paths are the API's
    (``/v1/push``, ``/v1/files/<sha>?offset=0&total=5``), with their query string."""

    def call(self, method: str, path: str, json_body: dict[str, Any] | None = None) -> dict[str, Any]:
        """A JSON request; the JSON object answered. Raises :class:`SyncError`."""
        ...

    def put_bytes(self, path: str, data: bytes) -> dict[str, Any]:
        """PUT raw bytes (a chunk of an attachment); the JSON object answered."""
        ...

    def get_bytes(self, path: str) -> bytes:
        """GET raw bytes (a chunk of an attachment)."""
        ...


class HttpTransport:
    """:class:`Transport` over HTTP(S) with httpx; every request signed by the device key.

    ``client`` is for tests (e.g. an httpx client on an ASGI app); by default one is made and
    closed by :meth:`close`.
    """

    def __init__(
        self,
        base_url: str,
        key: DeviceKey,
        device_id: str,
        *,
        client: httpx.Client | None = None,
        timeout: httpx.Timeout = TIMEOUT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = key
        self.device_id = device_id
        self._own_client = client is None
        self._client = client or httpx.Client(timeout=timeout)

    def __repr__(self) -> str:
        return f"HttpTransport({self.base_url!r}, device={self.device_id!r})"

    def close(self) -> None:
        if self._own_client:
            self._client.close()

    def __enter__(self) -> HttpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- Transport ----------------------------------------------------------------------------

    def call(self, method: str, path: str, json_body: dict[str, Any] | None = None) -> dict[str, Any]:
        # orjson: a push batch is megabytes of JSON, encoded several times faster than by json.
        body = b"" if json_body is None else orjson.dumps(json_body)
        headers = {"Content-Type": "application/json"} if json_body is not None else {}
        return _json_of(self._send(method, path, body, headers))

    def put_bytes(self, path: str, data: bytes) -> dict[str, Any]:
        return _json_of(self._send("PUT", path, data, {"Content-Type": "application/octet-stream"}))

    def get_bytes(self, path: str) -> bytes:
        return self._send("GET", path, b"", {}).content

    # ---- internals ----------------------------------------------------------------------------

    def _send(self, method: str, path: str, body: bytes, extra: dict[str, str]) -> httpx.Response:
        if not path.startswith("/"):
            raise ValueError("a transport path starts with '/'")
        method = method.upper()
        headers = {
            **extra,
            SCHEMA_HEADER: str(SCHEMA_VERSION),
            **sign_request(self._key, self.device_id, method, path, body),
        }
        try:
            response = self._client.request(method, self.base_url + path, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise SyncError(
                f"连接区局同步服务（{self.base_url}）超时。请检查网络后重试（已开启自动同步的，会自动再试）。",
                code="network",
                transient=True,
            ) from exc
        except (httpx.TransportError, OSError) as exc:
            raise SyncError(
                f"无法连接区局同步服务（{self.base_url}）：{exc}。请检查网络后重试（已开启自动同步的，会自动再试）。",
                code="network",
                transient=True,
            ) from exc
        if response.status_code >= 400:
            try:
                answer: Any = response.json()
            except ValueError:
                answer = None
            raise SyncError.from_answer(response.status_code, answer)
        return response


def _json_of(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = orjson.loads(response.content)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        # A captive portal or a proxy's page instead of the district: worth another try later.
        raise SyncError(
            "区局同步服务的回答无法识别（可能连到了其他网页或代理）。请检查同步地址和网络后重试。",
            code="bad_response",
            status=response.status_code,
            transient=True,
        )
    return answer
