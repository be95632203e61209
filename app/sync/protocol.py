"""What a device and the district agree on over the wire (同步协议): the schema version every
request and bundle carries, the one header that carries it, and the limits of one batch.

The schema version is the database's alembic head as a number: a change that alters what a row
looks like is a migration, so it also moves the version. The district accepts the current
version and the one before it, so devices can be upgraded one by one; anything else is answered
"please upgrade" (HTTP 426), and the device keeps its outbox until it is upgraded.
"""

from __future__ import annotations

#: The sync schema this build speaks (= the alembic head revision, 0011).
SCHEMA_VERSION = 11
#: What the district accepts: this version and the one before.
ACCEPTED = frozenset({SCHEMA_VERSION, SCHEMA_VERSION - 1})
#: The request header that carries the sender's schema version.
SCHEMA_HEADER = "X-Squaddesk-Schema"
#: Change-log entries in one push batch (one server transaction) …
PUSH_BATCH = 10_000
#: … and at most about this many characters of row images, so that a batch stays a few
#: megabytes on a slow field-station link (a cut-off batch is sent again whole).
PUSH_BATCH_BYTES = 4_000_000
#: Server changes in one pull answer.
PULL_LIMIT = 2_000


def upgrade_message(theirs: int | None) -> str:
    """The Chinese answer to a sender whose schema version the district does not accept."""
    if theirs is not None and theirs > SCHEMA_VERSION:
        return (
            f"区局同步服务的版本（{SCHEMA_VERSION}）比本机旧（{theirs}），暂时不能同步。"
            "请联系区局升级同步服务；本机未同步的数据会保留，升级后自动补传。"
        )
    return (
        f"本机 SquadDesk 的数据版本（{theirs}）过旧，区局只接受第 {min(ACCEPTED)}–{SCHEMA_VERSION} 版。"
        "请升级本机的 SquadDesk；未同步的数据会保留，升级后自动补传。"
    )
