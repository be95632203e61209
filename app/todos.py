"""The start page's to-do list (待办): statutory clocks of open cases due within two working days
or overdue, certificates about to lapse or overdue for review, members short of training hours.
Each to-do says who or which case, what, and by when."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.auth.roles import Actor, Permission
from app.cases.clocks import ClockState
from app.cases.due import due_clocks
from app.certificates import Alert, list_certificates
from app.settings import Settings
from app.training import yearly_hours


@dataclass(frozen=True)
class Todo:
    level: Alert
    area: str
    text: str
    member_id: str


def todos(session: Session, actor: Actor, settings: Settings, today: dt.date | None = None) -> list[Todo]:
    today = today or dt.date.today()
    out: list[Todo] = []
    if actor.can(Permission.VIEW_CASES):
        for number, clock in due_clocks(session, actor, today):
            level = Alert.RED if clock.state is ClockState.RED else Alert.AMBER
            late = "已逾期" if clock.state is ClockState.RED else "即将到期"
            out.append(Todo(level, "案件", f"{number} {clock.name}{late}：{clock.explanation}", ""))
    if not actor.can(Permission.VIEW_PERSONNEL):
        return out
    out += [
        Todo(c.alert, "证件", f"{c.member_name} 的{c.kind_label}（{c.number}）{c.alert_text}", c.member_id)
        for c in list_certificates(session, actor, settings, today, only_alerts=True)
    ]
    # Training is judged against the year so far: warn from October on, when there is little time left.
    if today.month >= 10:
        for s in yearly_hours(session, actor, today.year, settings.training_min_hours):
            if s.short > 0:
                out.append(
                    Todo(
                        Alert.AMBER,
                        "培训",
                        f"{s.member_name} 今年培训 {s.hours:g} 学时，距要求的 {s.required:g} 学时还差 {s.short:g} 学时",
                        s.member_id,
                    )
                )
    rank = {Alert.RED: 0, Alert.AMBER: 1, Alert.NONE: 2}
    out.sort(key=lambda t: rank[t.level])
    return out
