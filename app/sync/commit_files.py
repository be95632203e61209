"""Files that appear only when a database transaction commits (随事务提交生效的文件).

Some results of a transaction are files beside the database: the district's answer bundle
(app.district.bundles), the document templates a district release installs on a device
(app.sync.releases). Such a file must not be there when the transaction that made it is refused
or rolled back — an answer acknowledging what the district did not keep, a template of a release
this device never recorded as installed.

So the file is written in full under a temporary name in its own folder, and
:func:`publish_on_commit` renames it to its real name when the session's outermost transaction
commits (SQLAlchemy session event ``after_commit``), or deletes it when that transaction rolls
back (``after_rollback``) or ends any other way (a session closed mid-transaction). A file
registered inside a savepoint that rolls back is deleted with it; a savepoint that is released
publishes nothing yet — only the outermost commit does. Files registered in one transaction
are renamed in the order they were registered, so the last version of a path wins.

The rename happens after the commit: should it fail (a full disk, a file held open on Windows),
the database has committed all the same; the other files are still published, the temporary
file is deleted, and :class:`CommitFileError` is raised from the commit once the transaction
has ended, naming the file.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from app.errors import DomainError
from app.files import fsync_dir

_KEY = "squaddesk.commit_files"


class CommitFileError(DomainError):
    """The transaction committed, but a file could not be put under its real name."""


@dataclass
class _File:
    temp: Path
    final: Path
    #: What the file is, for a message (e.g. "答复包"), and what to do should it be missing.
    what: str
    hint: str
    #: The savepoints open when it was registered: it goes when any of them rolls back.
    scopes: frozenset[SessionTransaction]


@dataclass
class _Pending:
    root: SessionTransaction
    files: list[_File] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    done: bool = False


def publish_on_commit(
    session: Session,
    temp: Path,
    final: Path,
    what: str = "文件",
    hint: str = "请检查该文件夹的写权限和磁盘空间。",
) -> None:
    """Rename ``temp`` to ``final`` when the session's current outermost transaction commits;
    delete ``temp`` when it does not. ``temp`` must be complete (flushed to disk) and in the same
    folder as ``final``; ``what`` names the file and ``hint`` says what to do, in the message of
    :class:`CommitFileError` should the rename fail."""
    root = session.get_transaction()
    if root is None:
        raise RuntimeError("publish_on_commit needs a transaction in progress")
    pending = session.info.get(_KEY)
    if not isinstance(pending, _Pending) or pending.root is not root or pending.done:
        pending = _Pending(root)
        session.info[_KEY] = pending
        _listen(session, pending)
    scopes: set[SessionTransaction] = set()
    nested = session.get_nested_transaction()
    while nested is not None:
        if nested.nested:
            scopes.add(nested)
        nested = nested.parent
    pending.files.append(_File(Path(temp), Path(final), what, hint, frozenset(scopes)))


def _listen(session: Session, pending: _Pending) -> None:
    # The listeners stay attached, inert once ``done`` (removing one while SQLAlchemy dispatches
    # its event is not allowed); there is one set per transaction that registered files.

    def committed(sess: Session) -> None:
        if pending.done or sess.in_nested_transaction() or sess.get_transaction() is not pending.root:
            return  # a savepoint released, or another transaction of this session
        pending.done = True
        _publish(pending)

    def rolled_back(sess: Session) -> None:
        if pending.done:
            return
        savepoint = sess.get_nested_transaction()
        if savepoint is not None:
            gone = [f for f in pending.files if savepoint in f.scopes]
            pending.files = [f for f in pending.files if savepoint not in f.scopes]
            _discard(gone)
            return
        if sess.get_transaction() is pending.root:
            pending.done = True
            _discard(pending.files)

    def ended(sess: Session, transaction: SessionTransaction) -> None:
        if transaction is not pending.root:
            return
        if not pending.done:  # closed without a commit or a rollback event
            pending.done = True
            _discard(pending.files)
        if sess.info.get(_KEY) is pending:
            del sess.info[_KEY]
        if pending.errors:
            errors, pending.errors = pending.errors, []
            raise CommitFileError("".join(errors))

    event.listen(session, "after_commit", committed)
    event.listen(session, "after_rollback", rolled_back)
    event.listen(session, "after_transaction_end", ended)


def _publish(pending: _Pending) -> None:
    """Rename every file into place (never raising here: the commit is done, and SQLAlchemy must
    finish closing the transaction); failures are raised when the transaction has ended."""
    folders: set[Path] = set()
    for item in pending.files:
        try:
            os.replace(item.temp, item.final)
            folders.add(item.final.parent)
        except OSError as exc:
            _discard([item])
            pending.errors.append(
                f"数据已保存，但{item.what}未能写到“{item.final}”：{exc.strerror or exc}。{item.hint}"
            )
    for folder in folders:
        with contextlib.suppress(OSError):  # the renames themselves succeeded
            fsync_dir(folder)


def _discard(files: list[_File]) -> None:
    for item in files:
        with contextlib.suppress(OSError):
            item.temp.unlink()


__all__ = ["CommitFileError", "publish_on_commit"]
