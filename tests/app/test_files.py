"""The content-addressed file store: stored once by sha256, written atomically, streamed in
chunks, damage detected — on real files in a temporary folder."""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path

import pytest

from app import files
from app.errors import Cancelled
from app.progress import Progress


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return files.files_dir(tmp_path / "data")


def _everything(store: Path) -> list[Path]:
    return sorted(p for p in store.rglob("*") if p.is_file()) if store.exists() else []


def test_put_file_stores_under_its_hash(store: Path, tmp_path: Path) -> None:
    source = tmp_path / "现场照片.jpg"
    source.write_bytes(b"\xff\xd8\xff" + b"street vendor" * 1000)
    sha = hashlib.sha256(source.read_bytes()).hexdigest()

    stored = files.put_file(store, source)

    assert stored == files.StoredFile(sha, source.stat().st_size)
    path = files.path_of(store, sha)
    assert path == store / sha[:2] / sha[2:]
    assert path.read_bytes() == source.read_bytes()
    assert files.exists(store, sha)
    assert files.verify(store, sha)
    assert not path.stat().st_mode & stat.S_IWUSR, "stored evidence is read-only"


def test_same_content_is_stored_once(store: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a.jpg", tmp_path / "copy of a.jpg"
    a.write_bytes(b"same picture")
    b.write_bytes(b"same picture")

    first = files.put_file(store, a)
    second = files.put_file(store, b)
    third = files.put_bytes(store, b"same picture")

    assert first == second == third
    assert _everything(store) == [files.path_of(store, first.sha256)], "one file, no temporary left"


def test_large_file_is_streamed_in_chunks_with_progress(store: Path, tmp_path: Path) -> None:
    source = tmp_path / "执法记录仪.mp4"
    size = files.CHUNK_SIZE * 3 + 12345
    with source.open("wb") as out:
        for i in range(4):
            out.write(bytes([i]) * (files.CHUNK_SIZE if i < 3 else 12345))
    reports: list[tuple[int, int]] = []

    stored = files.put_file(
        store, source, progress=Progress(lambda done, total, _t: reports.append((done, total)))
    )

    assert stored.size == size
    assert files.verify(store, stored.sha256)
    assert reports[0] == (0, size) and reports[-1] == (size, size)
    assert len(reports) == 5, "one report per chunk: the file is never read whole"


class _FailingSource(io.RawIOBase):
    """A source (a USB stick pulled out) that yields one chunk and then fails."""

    def __init__(self) -> None:
        self.calls = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.calls += 1
        if self.calls > 1:
            raise OSError(5, "Input/output error")
        return b"x" * files.CHUNK_SIZE


def test_a_source_failing_half_way_leaves_no_file(store: Path) -> None:
    source = _FailingSource()
    with pytest.raises(files.StoreError, match=r"读取“DCIM_0001\.MP4”时出错") as err:
        files.put_stream(store, source, name="DCIM_0001.MP4")  # type: ignore[arg-type]
    assert "未保存" in err.value.message
    assert source.calls == 2, "it failed half way, after a chunk had been written"
    assert _everything(store) == []


def test_cancel_half_way_leaves_no_file(store: Path, tmp_path: Path) -> None:
    source = tmp_path / "big.mp4"
    source.write_bytes(b"v" * (files.CHUNK_SIZE * 2 + 1))

    def cancel_after_first_chunk(done: int, _total: int, _text: str) -> None:
        if done >= files.CHUNK_SIZE:
            progress.cancel()  # the user presses Cancel while the video is copied

    progress = Progress(cancel_after_first_chunk)
    with pytest.raises(Cancelled):
        files.put_file(store, source, progress=progress)
    assert _everything(store) == []


def test_missing_source_is_explained(store: Path, tmp_path: Path) -> None:
    with pytest.raises(files.StoreError, match="无法打开文件"):
        files.put_file(store, tmp_path / "gone.jpg")


def test_expected_hash_is_checked_before_the_file_takes_its_name(store: Path) -> None:
    good = hashlib.sha256(b"original").hexdigest()
    with pytest.raises(files.StoreError, match="传输中损坏"):
        files.put_bytes(store, b"damaged in transit", expected_sha256=good)
    assert _everything(store) == []
    assert files.put_bytes(store, b"original", expected_sha256=good.upper()).sha256 == good


def test_corrupted_stored_file_is_detected_and_repaired_by_storing_again(store: Path) -> None:
    stored = files.put_bytes(store, b"inspection photo")
    path = files.path_of(store, stored.sha256)
    os.chmod(path, stat.S_IREAD | stat.S_IWRITE)
    path.write_bytes(b"inspection photX")  # a flipped byte: disk damage or an edit behind our back

    assert files.exists(store, stored.sha256)
    assert not files.verify(store, stored.sha256)

    files.put_bytes(store, b"inspection photo")
    assert files.verify(store, stored.sha256)
    assert path.read_bytes() == b"inspection photo"


def test_missing_stored_file_does_not_verify(store: Path) -> None:
    sha = hashlib.sha256(b"never stored").hexdigest()
    assert not files.exists(store, sha)
    assert not files.verify(store, sha)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ABC", "g" * 64, "A" * 64])
def test_path_of_refuses_anything_but_a_sha256(store: Path, bad: str) -> None:
    with pytest.raises(files.StoreError, match="不是有效的文件校验值"):
        files.path_of(store, bad)


def test_leftovers_of_a_crash_are_removed(store: Path) -> None:
    store.mkdir(parents=True)
    (store / ".incoming-abc123").write_bytes(b"half a video")
    kept = files.put_bytes(store, b"complete")
    assert files.remove_incomplete(store) == 1
    assert _everything(store) == [files.path_of(store, kept.sha256)]
    assert files.remove_incomplete(store / "not-there") == 0
