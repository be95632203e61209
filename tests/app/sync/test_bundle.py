"""Offline sync bundles (app.sync.bundle): a round trip, and every way a file on a USB stick can
be wrong — each refused with its reason and a Chinese message, with nothing returned from it."""

from __future__ import annotations

import hashlib
import json
import random
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.errors import Cancelled, DomainError
from app.progress import Progress
from app.sync.bundle import (
    CHANGES_NAME,
    FILES_PREFIX,
    MANIFEST_NAME,
    SIGNATURE_NAME,
    Bundle,
    BundleError,
    BundleInfo,
    Manifest,
    is_replay,
    peek_manifest,
    read_bundle,
    write_bundle,
)
from app.sync.signing import DeviceKey, canonical

SQUAD = "0190a0c4-squad-0000-0000-000000000001"
DEVICE = "0190a0c4-dev0-0000-0000-000000000001"
SCHEMA = "0012_sync"
CHANGES: list[dict[str, Any]] = [
    {
        "table": "cases",
        "row_id": "c-1",
        "op": "insert",
        "version": 1,
        "payload": {"案由": "占道经营", "罚款": 200},
    },
    {"table": "cases", "row_id": "c-1", "op": "update", "version": 2, "payload": {"备注": "第一行\n第二行"}},
    {"table": "evidence", "row_id": "e-1", "op": "delete", "version": 3, "payload": None},
]
REFUSED_FOR_DAMAGE = {"checksum", "signature", "truncated"}

KEY = DeviceKey.generate()
DISTRICT_KEY = DeviceKey.generate()


@pytest.fixture
def attachments(tmp_path: Path) -> dict[str, Path]:
    """Two evidence files: a compressible text and incompressible bytes (stored deflate blocks)."""
    folder = tmp_path / "store"
    folder.mkdir()
    result = {}
    for name, data in [
        ("photo-notes.txt", "现场照片说明：占道经营，摊位三处。\n".encode() * 10),
        ("photo.jpg", random.Random(7).randbytes(600)),
    ]:
        path = folder / name
        path.write_bytes(data)
        result[hashlib.sha256(data).hexdigest()] = path
    return result


def write(path: Path, attachments: dict[str, Path] | None = None, **fields: Any) -> BundleInfo:
    arguments: dict[str, Any] = {
        "kind": "push",
        "schema_version": SCHEMA,
        "device_id": DEVICE,
        "squad_id": SQUAD,
        "seq_from": 11,
        "seq_to": 13,
        "previous_hash": "",
        "changes": CHANGES,
        "attachments": attachments or {},
        "key": KEY,
        "created_at": "2025-03-14T09:30:00+08:00",
    }
    arguments.update(fields)
    return write_bundle(path, **arguments)


def read(path: Path, key: DeviceKey = KEY, **expect: Any) -> Bundle:
    expect.setdefault("expect_kind", "push")
    return read_bundle(path, key.public_pem(), **expect)


def refused(path: Path, **expect: Any) -> BundleError:
    """Read ``path`` and return the refusal; reading must not return anything."""
    with pytest.raises(BundleError) as caught:
        read(path, **expect)
    error = caught.value
    assert isinstance(error, DomainError)
    assert any("\u4e00" <= char <= "\u9fff" for char in error.message)  # a Chinese message for the clerk
    return error


@pytest.fixture
def bundle_path(tmp_path: Path, attachments: dict[str, Path]) -> Path:
    path = tmp_path / "usb" / "push-11-13.zip"
    write(path, attachments)
    return path


# -- round trip -----------------------------------------------------------------------------------


def test_round_trip_with_three_changes_and_two_attachments(
    tmp_path: Path, attachments: dict[str, Path]
) -> None:
    path = tmp_path / "usb" / "push.zip"
    info = write(path, attachments)

    assert info.path == path
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert info.size == path.stat().st_size
    assert [p.name for p in path.parent.iterdir()] == ["push.zip"]  # no temporary file left

    bundle = read(
        path,
        expect_squad=SQUAD,
        expect_device=DEVICE,
        previous_hash="",
        expected_seq_from=11,
    )
    assert bundle.changes == CHANGES
    assert bundle.sha256 == info.sha256
    assert bundle.manifest == info.manifest
    manifest = bundle.manifest
    assert (manifest.format, manifest.format_version, manifest.kind) == ("squaddesk-bundle", 1, "push")
    assert (manifest.device_id, manifest.squad_id, manifest.schema_version) == (DEVICE, SQUAD, SCHEMA)
    assert (manifest.seq_from, manifest.seq_to, manifest.counts) == (11, 13, 3)
    assert manifest.previous_hash == ""
    assert set(manifest.files) == {CHANGES_NAME, *(FILES_PREFIX + sha for sha in attachments)}
    assert bundle.attachments == tuple(sorted(attachments))

    for sha, source in attachments.items():
        target = tmp_path / "received" / sha
        assert bundle.copy_attachment(sha, target) == target
        assert target.read_bytes() == source.read_bytes()
        assert hashlib.sha256(target.read_bytes()).hexdigest() == sha
    assert sorted(p.name for p in (tmp_path / "received").iterdir()) == sorted(attachments)


def test_the_file_is_the_documented_zip(bundle_path: Path, attachments: dict[str, Path]) -> None:
    with zipfile.ZipFile(bundle_path) as archive:
        names = archive.namelist()
        manifest_bytes = archive.read(MANIFEST_NAME)
        signature = archive.read(SIGNATURE_NAME).decode()
        lines = archive.read(CHANGES_NAME).decode().splitlines()
        methods = {info.filename: info.compress_type for info in archive.infolist()}
    assert set(names) == {
        CHANGES_NAME,
        MANIFEST_NAME,
        SIGNATURE_NAME,
        *(FILES_PREFIX + s for s in attachments),
    }
    assert methods[CHANGES_NAME] == zipfile.ZIP_DEFLATED
    manifest = json.loads(manifest_bytes)
    assert canonical(manifest) == manifest_bytes
    assert KEY.sign(manifest_bytes) == signature  # Ed25519 is deterministic
    assert [json.loads(line) for line in lines] == CHANGES
    assert manifest["counts"] == 3
    assert (
        manifest["files"][CHANGES_NAME]
        == hashlib.sha256("".join(f"{x}\n" for x in lines).encode()).hexdigest()
    )


def test_a_bundle_chains_to_the_previous_one(tmp_path: Path) -> None:
    first = write(tmp_path / "1.zip")
    second = write(tmp_path / "2.zip", seq_from=14, seq_to=16, previous_hash=first.sha256)
    bundle = read(second.path, previous_hash=first.sha256, expected_seq_from=14)
    assert bundle.manifest.previous_hash == first.sha256


def test_an_empty_bundle_round_trips(tmp_path: Path) -> None:
    # Nothing to send since seq 13: the answer still travels (acknowledgements).
    info = write(tmp_path / "a.zip", kind="answer", key=DISTRICT_KEY, changes=[], seq_from=14, seq_to=13)
    bundle = read(info.path, DISTRICT_KEY, expect_kind="answer", expected_seq_from=14)
    assert bundle.changes == []
    assert bundle.attachments == ()
    assert not is_replay(bundle, 13)


def test_peek_tells_which_device_sent_a_bundle_before_its_key_is_known(bundle_path: Path) -> None:
    manifest = peek_manifest(bundle_path)
    assert (manifest.device_id, manifest.squad_id) == (DEVICE, SQUAD)


def test_export_reports_progress_and_can_be_cancelled(tmp_path: Path, attachments: dict[str, Path]) -> None:
    steps: list[tuple[int, int, str]] = []
    write(tmp_path / "ok.zip", attachments, progress=Progress(lambda d, t, s: steps.append((d, t, s))))
    assert steps[-1][:2] == (2, 2)

    progress = Progress()
    progress.cancel()
    with pytest.raises(Cancelled):
        write(tmp_path / "cancelled.zip", attachments, progress=progress)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.zip", "store"]


jsons = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.lists(st.dictionaries(st.text(max_size=10), jsons, max_size=5), max_size=12))
def test_random_change_lists_round_trip_exactly(changes: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "b.zip"
        info = write(path, changes=changes, seq_from=1, seq_to=len(changes))
        bundle = read(path, expected_seq_from=1)
    assert info.manifest.counts == len(changes)
    assert bundle.changes == changes
    # Exactly: the same JSON types too (True is not 1, 1.0 is not 1).
    assert canonical(bundle.changes) == canonical(changes)


# -- damage ---------------------------------------------------------------------------------------


def member_spans(path: Path) -> dict[str, tuple[int, int]]:
    """Where each member's data lies in the file."""
    spans = {}
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            name_length = int.from_bytes(raw[info.header_offset + 26 : info.header_offset + 28], "little")
            start = info.header_offset + 30 + name_length
            spans[info.filename] = (start, start + info.compress_size)
    return spans


def flipped(path: Path, position: int, bit: int) -> Path:
    """A copy of ``path`` with one bit changed."""
    raw = bytearray(path.read_bytes())
    raw[position] ^= 1 << bit
    target = path.with_name("flipped.zip")
    target.write_bytes(bytes(raw))
    return target


def test_one_flipped_bit_in_each_member_is_refused(bundle_path: Path) -> None:
    spans = member_spans(bundle_path)
    assert set(spans) >= {CHANGES_NAME, MANIFEST_NAME, SIGNATURE_NAME}
    assert len(spans) == 5
    for name, (start, end) in spans.items():
        for position in (start, (start + end) // 2, end - 1):
            error = refused(flipped(bundle_path, position, bit=position % 8))
            assert error.reason in REFUSED_FOR_DAMAGE, (name, position, error.reason)
            assert "未导入任何内容" in error.message


def test_every_single_bit_flip_anywhere_in_the_file_is_refused(bundle_path: Path) -> None:
    """Every byte of the file — headers, compressed data, directory, end record — with a different
    bit each time: never accepted. This includes deflate padding bits and the stored-block
    headers of the incompressible attachment, which decompress to the same content."""
    size = bundle_path.stat().st_size
    reasons = set()
    for position in range(size):
        with pytest.raises(BundleError) as caught:
            read(flipped(bundle_path, position, bit=position % 8))
        reasons.add(caught.value.reason)
    assert reasons <= REFUSED_FOR_DAMAGE
    assert "checksum" in reasons


def test_flips_that_deflate_ignores_are_refused_too(bundle_path: Path) -> None:
    """Deflate has bits no decoder reads (padding, stored-block headers): flipping one leaves the
    decompressed content, its CRC and its sha256 unchanged. The raw-bytes hash still refuses it."""
    raw = bundle_path.read_bytes()
    invisible = []
    for name, (start, end) in member_spans(bundle_path).items():
        if name in (MANIFEST_NAME, SIGNATURE_NAME):
            continue
        content = zlib.decompress(raw[start:end], wbits=-15)
        for position in range(start, end):
            for bit in range(8):
                data = bytearray(raw[start:end])
                data[position - start] ^= 1 << bit
                try:
                    same = zlib.decompress(bytes(data), wbits=-15) == content
                except zlib.error:
                    same = False
                if same:
                    invisible.append((position, bit))
    assert invisible  # the bundle has such bits, so this test proves something
    for position, bit in invisible:
        assert refused(flipped(bundle_path, position, bit)).reason == "checksum"


def test_every_97th_byte_of_a_larger_bundle_with_each_bit(tmp_path: Path) -> None:
    data = random.Random(11).randbytes(150_000)
    source = tmp_path / "video.bin"
    source.write_bytes(data)
    path = tmp_path / "big.zip"
    write(path, {hashlib.sha256(data).hexdigest(): source})
    for position in range(0, path.stat().st_size, 97):
        assert refused(flipped(path, position, bit=(position // 97) % 8)).reason in REFUSED_FOR_DAMAGE


@pytest.mark.parametrize("keep", [0, 1, 3, 4, 30, 100, "third", "half", "end-23", "end-22", "end-1"])
def test_a_truncated_file_is_refused(bundle_path: Path, keep: int | str) -> None:
    raw = bundle_path.read_bytes()
    cut = {
        "third": len(raw) // 3,
        "half": len(raw) // 2,
        "end-23": len(raw) - 23,
        "end-22": len(raw) - 22,
        "end-1": len(raw) - 1,
    }.get(str(keep), keep)
    assert isinstance(cut, int)
    bundle_path.write_bytes(raw[:cut])
    error = refused(bundle_path)
    assert error.reason == "truncated"
    assert "文件不完整" in error.message and "重新导出" in error.message


def test_a_file_that_is_no_bundle_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(b"%PDF-1.7\n" + b"x" * 200)
    error = refused(path)
    assert error.reason == "format"
    assert "不是 SquadDesk 的同步文件" in error.message

    missing = tmp_path / "gone.zip"
    error = refused(missing)
    assert error.reason == "io"


# -- tampering (a valid ZIP rewritten by someone who knows the layout) -----------------------------


def repack(
    source: Path,
    target: Path,
    *,
    replace: dict[str, bytes] | None = None,
    drop: tuple[str, ...] = (),
    add: dict[str, bytes] | None = None,
) -> Path:
    replace = replace or {}
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename == MANIFEST_NAME:
                for name, data in (add or {}).items():
                    new.writestr(layout_member(name, zipfile.ZIP_DEFLATED), data)
            if info.filename in drop:
                continue
            data = replace.get(info.filename, old.read(info.filename))
            new.writestr(layout_member(info.filename, info.compress_type), data)
    return target


def layout_member(name: str, compression: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = compression
    info.create_system = 3
    info.external_attr = 0o100644 << 16
    return info


def test_repacking_unchanged_is_accepted(bundle_path: Path, tmp_path: Path) -> None:
    # The tampering tests below change one thing each: without a change the repacked file passes.
    assert read(repack(bundle_path, tmp_path / "same.zip")).changes == CHANGES


def test_a_changed_manifest_is_refused_as_not_signed(bundle_path: Path, tmp_path: Path) -> None:
    manifest = json.loads(peek_manifest_bytes(bundle_path))
    manifest["squad_id"] = "0190a0c4-squad-0000-0000-000000000002"
    target = repack(bundle_path, tmp_path / "t.zip", replace={MANIFEST_NAME: canonical(manifest)})
    error = refused(target)
    assert error.reason == "signature"
    assert error.message.startswith("签名不符")


def test_changed_change_lines_are_refused(bundle_path: Path, tmp_path: Path) -> None:
    changed = [{**CHANGES[0], "payload": {"案由": "占道经营", "罚款": 20}}, *CHANGES[1:]]
    body = b"".join(canonical(change) + b"\n" for change in changed)
    error = refused(repack(bundle_path, tmp_path / "t.zip", replace={CHANGES_NAME: body}))
    assert error.reason == "checksum"


def test_a_replaced_attachment_is_refused(
    bundle_path: Path, tmp_path: Path, attachments: dict[str, Path]
) -> None:
    sha = sorted(attachments)[0]
    target = repack(bundle_path, tmp_path / "t.zip", replace={FILES_PREFIX + sha: b"another photo"})
    assert refused(target).reason == "checksum"


def test_an_extra_or_missing_member_is_refused(
    bundle_path: Path, tmp_path: Path, attachments: dict[str, Path]
) -> None:
    extra_data = b"smuggled"
    extra = FILES_PREFIX + hashlib.sha256(extra_data).hexdigest()
    assert refused(repack(bundle_path, tmp_path / "extra.zip", add={extra: extra_data})).reason == "checksum"
    missing = FILES_PREFIX + sorted(attachments)[1]
    assert refused(repack(bundle_path, tmp_path / "missing.zip", drop=(missing,))).reason == "checksum"
    assert (
        refused(repack(bundle_path, tmp_path / "no-changes.zip", drop=(CHANGES_NAME,))).reason == "checksum"
    )
    error = refused(repack(bundle_path, tmp_path / "no-sig.zip", drop=(SIGNATURE_NAME,)))
    assert error.reason in REFUSED_FOR_DAMAGE


def peek_manifest_bytes(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(MANIFEST_NAME)


# -- identity and continuity ----------------------------------------------------------------------


def test_a_bundle_signed_by_another_key_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "b.zip", key=DeviceKey.generate()).path
    error = refused(path)
    assert error.reason == "signature"
    assert "签名不符" in error.message and "重新导出" in error.message


def test_a_foreign_squads_bundle_is_refused(bundle_path: Path) -> None:
    error = refused(bundle_path, expect_squad="0190a0c4-squad-0000-0000-000000000002")
    assert error.reason == "foreign"
    assert error.message.startswith("该文件属于其他中队")


def test_another_devices_answer_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "a.zip", kind="answer", key=DISTRICT_KEY, device_id="another-device").path
    with pytest.raises(BundleError) as caught:
        read(path, DISTRICT_KEY, expect_kind="answer", expect_squad=SQUAD, expect_device=DEVICE)
    assert caught.value.reason == "foreign"
    assert "其他设备" in caught.value.message


def test_the_wrong_kind_is_refused(bundle_path: Path) -> None:
    error = refused(bundle_path, expect_kind="answer")
    assert error.reason == "kind"
    assert "不是区局的回执文件" in error.message


def test_a_gap_is_refused_naming_the_missing_range(tmp_path: Path) -> None:
    path = write(tmp_path / "b.zip", seq_from=15, seq_to=17).path
    error = refused(path, expected_seq_from=11)
    assert error.reason == "gap"
    assert "缺少序号 11–14" in error.message


def test_an_overlap_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "b.zip", seq_from=9, seq_to=11).path
    error = refused(path, expected_seq_from=11)
    assert error.reason == "overlap"
    assert "9–11" in error.message


def test_a_previous_hash_mismatch_is_refused(tmp_path: Path) -> None:
    first = write(tmp_path / "1.zip")
    path = write(tmp_path / "2.zip", seq_from=14, seq_to=16, previous_hash=first.sha256).path
    error = refused(path, previous_hash="ab" * 32, expected_seq_from=14)
    assert error.reason == "chain"
    assert "不衔接" in error.message
    # The first bundle of a device claims no predecessor; a receiver that applied one refuses it.
    assert refused(first.path, previous_hash=first.sha256).reason == "chain"


def test_a_replayed_bundle_is_reported_as_already_imported(bundle_path: Path) -> None:
    error = refused(bundle_path, expected_seq_from=14, previous_hash="ab" * 32)
    assert error.reason == "replay"
    assert "已经导入过" in error.message


def test_is_replay(tmp_path: Path) -> None:
    bundle = read(write(tmp_path / "b.zip").path)  # 11..13
    assert is_replay(bundle, 13)
    assert is_replay(bundle, 20)
    assert is_replay(bundle.manifest, 13)
    assert not is_replay(bundle, 12)  # 13 not applied yet
    assert not is_replay(bundle, 10)
    empty = write(tmp_path / "e.zip", changes=[], seq_from=14, seq_to=13).path
    assert not is_replay(read(empty), 13)  # the next one, empty
    assert is_replay(read(empty), 14)


@pytest.mark.parametrize(("version", "words"), [(2, "升级"), (0, "不再支持")])
def test_an_unsupported_format_version_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: int, words: str
) -> None:
    original = Manifest.to_dict
    monkeypatch.setattr(Manifest, "to_dict", lambda self: {**original(self), "format_version": version})
    path = write(tmp_path / "b.zip").path
    monkeypatch.undo()
    error = refused(path)
    assert error.reason == "format"
    assert words in error.message


# -- writing --------------------------------------------------------------------------------------


def test_an_attachment_that_does_not_match_its_hash_is_not_exported(
    tmp_path: Path, attachments: dict[str, Path]
) -> None:
    source = next(iter(attachments.values()))
    source.write_bytes(b"damaged in the store")
    target = tmp_path / "usb" / "b.zip"
    with pytest.raises(BundleError) as caught:
        write(target, attachments)
    assert caught.value.reason == "checksum"
    assert "校验值不符" in caught.value.message
    assert list(target.parent.iterdir()) == []  # neither the bundle nor a temporary file


def test_an_export_that_fails_half_way_leaves_no_file(tmp_path: Path) -> None:
    def changes() -> Iterator[dict[str, Any]]:
        yield CHANGES[0]
        raise RuntimeError("database went away")

    target = tmp_path / "usb" / "b.zip"
    target.parent.mkdir()
    target.write_bytes(b"yesterday's bundle")
    with pytest.raises(RuntimeError):
        write(target, changes=changes())
    assert [p.name for p in target.parent.iterdir()] == ["b.zip"]
    assert target.read_bytes() == b"yesterday's bundle"  # the old file is untouched


def test_a_bundle_changed_after_reading_gives_up_no_attachment(
    bundle_path: Path, tmp_path: Path, attachments: dict[str, Path]
) -> None:
    bundle = read(bundle_path)
    sha = sorted(attachments)[0]
    repack(bundle_path, tmp_path / "swapped.zip", replace={FILES_PREFIX + sha: b"swapped on the stick"})
    (tmp_path / "swapped.zip").replace(bundle_path)
    destination = tmp_path / "received" / sha
    with pytest.raises(BundleError) as caught:
        bundle.copy_attachment(sha, destination)
    assert caught.value.reason == "checksum"
    assert list(destination.parent.iterdir()) == []


def test_writing_checks_its_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write(tmp_path / "b.zip", previous_hash="not a hash")
    with pytest.raises(ValueError):
        write(tmp_path / "b.zip", seq_from=5, seq_to=3)
    with pytest.raises(ValueError):
        write(tmp_path / "b.zip", attachments={"ABC": tmp_path / "x"})
    with pytest.raises(TypeError):
        write(tmp_path / "b.zip", changes=[["not", "an", "object"]])
    assert list(tmp_path.iterdir()) == []
