"""The district server's HTTP API (区局同步接口): FastAPI routes over :mod:`app.district.service`.

Every route but ``/v1/hello`` and ``/v1/enroll`` must be signed by an enrolled, unrevoked device
(:mod:`app.sync.signing`); the squad a request acts for is always the device's, never one named
in the body. Each request is one database transaction — the signature check, the recorded
nonce and the work commit together — so a request cut off anywhere leaves nothing half done,
and a device that sends it again gets the same answer.

Errors are JSON ``{"error": code, "message": 中文}``: 400 invalid, 401 bad signature, 403 not
allowed (unenrolled, revoked, replayed, foreign), 404, 409 ``gap``/``offset``, 426 ``upgrade``
(schema version not accepted; the device keeps its outbox), 503 ``busy`` (retry later).

Run it with ``squaddesk-district serve`` (uvicorn; several workers on PostgreSQL). The app reads
its database URL and attachment folder from ``SQUADDESK_DISTRICT_DB`` and
``SQUADDESK_DISTRICT_FILES`` when started by :func:`app_from_env`, so every worker process builds
the same app.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from app.district import service
from app.district.files import FileStore, FileStoreError
from app.district.numbers import grant_blocks
from app.district.paths import ENV_DB, ENV_FILES, default_files_dir
from app.district.releases import district_public_pem, releases_after
from app.errors import ConflictError, DomainError, NotFoundError, PermissionDenied, ValidationError
from app.sync.faults import checkpoint
from app.sync.protocol import ACCEPTED, PULL_LIMIT, SCHEMA_HEADER, SCHEMA_VERSION, upgrade_message
from app.sync.signing import SignatureError, check_request, request_device
from db import migrate
from db.engine import make_engine, writer
from db.models import DistrictDevice

log = logging.getLogger("squaddesk.district")

#: Largest JSON body accepted (a push batch of PUSH_BATCH rows stays far below it).
MAX_BODY = 64 * 1024 * 1024
#: Largest attachment chunk accepted in one PUT.
MAX_CHUNK = 8 * 1024 * 1024


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def _error_of(exc: Exception) -> ApiError:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, service.PushGap):
        return ApiError(409, "gap", exc.message, acked_seq=exc.acked_seq)
    if isinstance(exc, FileStoreError):
        return ApiError(
            exc.status,
            exc.code,
            exc.message,
            **({"received": exc.received} if exc.received is not None else {}),
        )
    if isinstance(exc, SignatureError):
        return ApiError(401, "signature", exc.message)
    if isinstance(exc, PermissionDenied):
        return ApiError(403, "forbidden", exc.message)
    if isinstance(exc, NotFoundError):
        return ApiError(404, "not_found", exc.message)
    if isinstance(exc, ValidationError):
        return ApiError(400, "invalid", exc.message)
    if isinstance(exc, ConflictError | IntegrityError | DBAPIError):
        # A concurrent writer won a race (or the database is briefly busy): nothing was taken.
        return ApiError(503, "busy", "区局同步服务正忙，本次未保存任何内容，请稍后重试。")
    if isinstance(exc, DomainError):
        return ApiError(400, "refused", exc.message)
    raise exc


class District:
    """The server's database and attachment folder, shared by the routes of one app."""

    def __init__(self, engine: Engine, files_dir: Path) -> None:
        self.engine = engine
        self.sessions = sessionmaker(bind=writer(engine), expire_on_commit=False)
        self.files = FileStore(files_dir)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.sessions() as session, session.begin():
            yield session


def _schema_of(request: Request) -> None:
    raw = request.headers.get(SCHEMA_HEADER)
    try:
        theirs = int(raw) if raw is not None else None
    except ValueError:
        theirs = None
    if theirs not in ACCEPTED:
        raise ApiError(426, "upgrade", upgrade_message(theirs), server_schema=SCHEMA_VERSION)


def _signed_path(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def _body(request: Request, limit: int = MAX_BODY) -> bytes:
    data = await request.body()
    if len(data) > limit:
        raise ApiError(413, "too_large", "同步请求过大，区局拒收。请升级本机的 SquadDesk 后重试。")
    return data


def _device(session: Session, request: Request, body: bytes) -> DistrictDevice:
    """The enrolled device that signed this request; its nonce is recorded in ``session``."""
    _schema_of(request)
    device_id = request_device(request.headers)
    device = session.get(DistrictDevice, device_id)
    if device is None:
        raise PermissionDenied("本机尚未在区局登记，请先用登记码登记。")
    signed = check_request(
        request.headers,
        request.method,
        _signed_path(request),
        body,
        device.public_key,
        dt.datetime.now(dt.UTC),
    )
    return service.device_for_request(session, device_id, signed.nonce)


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body or b"{}")
    except ValueError as exc:
        raise ApiError(400, "invalid", "同步请求不是有效的 JSON，区局拒收。") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "invalid", "同步请求格式不正确，区局拒收。")
    return data


def _answer(data: dict[str, Any]) -> Response:
    """A JSON answer encoded by orjson: a pull answer is thousands of row images, which
    FastAPI's own encoder would walk value by value in Python."""
    return Response(orjson.dumps(data), media_type="application/json")


def _int(value: Any, name: str, default: int = 0) -> int:
    if value is None:
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, "invalid", f"同步请求中的 {name} 不是整数。") from exc


def create_app(engine: Engine, files_dir: Path, *, migrate_db: bool = True) -> FastAPI:
    """The API app on ``engine`` (migrated to head first unless told otherwise)."""
    if migrate_db:
        migrate.upgrade(engine)
    district = District(engine, files_dir)
    district.files.remove_stale()  # uploads abandoned for a month (resumed ones are younger)
    app = FastAPI(title="SquadDesk 区局同步服务", version=str(SCHEMA_VERSION), docs_url=None, redoc_url=None)
    app.state.district = district

    async def _errors(request: Request, exc: Exception) -> JSONResponse:
        error = _error_of(exc)
        if error.status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, exc, exc_info=exc)
        return JSONResponse(
            {"error": error.code, "message": error.message, **error.extra}, status_code=error.status
        )

    for kind in (ApiError, DomainError, IntegrityError, DBAPIError):
        app.add_exception_handler(kind, _errors)

    @app.get("/v1/hello")
    def hello() -> dict[str, Any]:  # a plain def: FastAPI runs it in its thread pool
        with district.transaction() as s:
            key = district_public_pem(s)
        return {"schema": SCHEMA_VERSION, "accepts": sorted(ACCEPTED), "district_key": key}

    @app.post("/v1/enroll")
    async def enroll(request: Request) -> dict[str, Any]:
        _schema_of(request)
        data = _json(await _body(request))
        public_key = str(data.get("public_key") or "")
        if "BEGIN PUBLIC KEY" not in public_key:
            raise ApiError(400, "invalid", "登记请求缺少本机公钥，请升级本机的 SquadDesk 后重试。")

        def work() -> dict[str, Any]:
            with district.transaction() as s:
                done = service.enroll(
                    s,
                    str(data.get("code") or ""),
                    str(data.get("device_id") or "")[:36],
                    public_key,
                    (str(data["squad_id"]) if data.get("squad_id") else None),
                    str(data.get("label") or "")[:100],
                )
                key = district_public_pem(s)
            return {
                "device_id": done.device_id,
                "squad_id": done.squad_id,
                "squad_name": done.squad_name,
                "district_key": key,
            }

        return await run_in_threadpool(work)

    @app.post("/v1/push")
    async def push(request: Request) -> Response:
        body = await _body(request)
        data = _json(body)
        entries = data.get("entries") or []
        resolved = data.get("resolved") or []
        if not isinstance(entries, list) or not isinstance(resolved, list):
            raise ApiError(400, "invalid", "同步批次格式不正确，区局拒收。")

        def work() -> dict[str, Any]:
            with district.transaction() as s:
                device = _device(s, request, body)
                result = service.push(
                    s,
                    device,
                    entries,
                    seq_from=_int(data.get("seq_from"), "seq_from", device.acked_seq + 1),
                    seq_to=_int(data.get("seq_to"), "seq_to", device.acked_seq),
                    resolved=resolved,
                )
            checkpoint("server.push.committed")
            return {
                "acked_seq": result.acked_seq,
                "applied": result.applied,
                "rejected": result.rejected,
                "conflicts": result.conflicts,
                "skipped": result.skipped,
                "rejections": list(result.rejections),
            }

        return _answer(await run_in_threadpool(work))

    @app.post("/v1/pull")
    async def pull(request: Request) -> Response:
        body = await _body(request)
        data = _json(body)
        after = _int(data.get("after"), "after")
        limit = min(max(_int(data.get("limit"), "limit", PULL_LIMIT), 1), PULL_LIMIT)
        release_after = _int(data.get("release_after"), "release_after")

        def work() -> dict[str, Any]:
            with district.transaction() as s:
                device = _device(s, request, body)
                answer = service.pull(s, device, after, limit)
                releases = releases_after(s, release_after)
            checkpoint("server.pull.committed")
            return {
                "changes": answer.changes,
                "count": len(answer.changes),
                "checksum": answer.checksum,
                "cursor": answer.cursor,
                "more": answer.more,
                "releases": releases,
            }

        return _answer(await run_in_threadpool(work))

    @app.get("/v1/status")
    async def status(request: Request) -> dict[str, Any]:
        def work() -> dict[str, Any]:
            with district.transaction() as s:
                device = _device(s, request, b"")
                head = service.server_head(s, device.squad_id)
                return {"squad_id": device.squad_id, "acked_seq": device.acked_seq, "head": head}

        return await run_in_threadpool(work)

    @app.post("/v1/leases")
    async def leases(request: Request) -> dict[str, Any]:
        body = await _body(request)
        data = _json(body)

        def work() -> dict[str, Any]:
            with district.transaction() as s:
                device = _device(s, request, body)
                return {"grants": grant_blocks(s, device, data.get("requests") or [])}

        return await run_in_threadpool(work)

    @app.get("/v1/files/{sha256}/status")
    async def file_status(sha256: str, request: Request) -> dict[str, Any]:
        def work() -> dict[str, Any]:
            with district.transaction() as s:
                device = _device(s, request, b"")
                held = district.files.status(s, device.squad_id, sha256)
            return {"received": held.received, "complete": held.complete}

        return await run_in_threadpool(work)

    @app.put("/v1/files/{sha256}")
    async def file_chunk(sha256: str, request: Request) -> dict[str, Any]:
        body = await _body(request, MAX_CHUNK)
        offset = _int(request.query_params.get("offset"), "offset")
        total = _int(request.query_params.get("total"), "total")

        def work() -> dict[str, Any]:
            with district.transaction() as s:
                device = _device(s, request, body)
                held = district.files.put_chunk(s, device.squad_id, sha256, offset, body, total)
            checkpoint("server.file.chunk_committed")
            return {"received": held.received, "complete": held.complete}

        return await run_in_threadpool(work)

    @app.get("/v1/files/{sha256}")
    async def file_range(sha256: str, request: Request) -> Response:
        offset = _int(request.query_params.get("offset"), "offset")
        length = min(_int(request.query_params.get("length"), "length", MAX_CHUNK), MAX_CHUNK)

        def work() -> bytes:
            with district.transaction() as s:
                device = _device(s, request, b"")
                return district.files.read_chunk(s, device.squad_id, sha256, offset, length)

        return Response(await run_in_threadpool(work), media_type="application/octet-stream")

    return app


def app_from_env() -> FastAPI:
    """The app as uvicorn's factory builds it in each worker (``squaddesk-district serve``)."""
    url = os.environ.get(ENV_DB)
    if not url:
        raise RuntimeError(f"{ENV_DB} is not set; start the server with `squaddesk-district serve`")
    files = os.environ.get(ENV_FILES)
    return create_app(make_engine(url), Path(files) if files else default_files_dir(url))
