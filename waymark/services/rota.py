"""The duty rota: who is on duty now, a backup and a manager."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from waymark.crypto import encrypt_phone, phone_hash
from waymark.errors import InvalidInput, NotFound
from waymark.models import RotaShift, StaffMember, utcnow
from waymark.settings import Settings


@dataclass(frozen=True)
class DutyTeam:
    """The people to page, in escalation order."""

    primary: StaffMember
    backup: StaffMember | None
    manager: StaffMember | None

    @property
    def ladder(self) -> list[StaffMember]:
        """Primary, then backup, then manager (whoever is set)."""
        return [m for m in (self.primary, self.backup, self.manager) if m is not None]


def current_team(session: Session, *, at: datetime | None = None) -> DutyTeam | None:
    """The duty team at a time: the covering shift that started last (the most specific)."""
    at = at or utcnow()
    shift = session.scalar(
        select(RotaShift)
        .where(RotaShift.starts_at <= at, RotaShift.ends_at > at)
        .order_by(RotaShift.starts_at.desc(), RotaShift.id.desc())
        .limit(1)
    )
    if shift is None:
        return None
    return DutyTeam(
        primary=session.get_one(StaffMember, shift.primary_id),
        backup=session.get(StaffMember, shift.backup_id) if shift.backup_id else None,
        manager=session.get(StaffMember, shift.manager_id) if shift.manager_id else None,
    )


def add_staff(
    session: Session, settings: Settings, *, name: str, phone: str, role: str = "worker"
) -> StaffMember:
    """Add a staff member (or update the one with that number)."""
    if role not in ("worker", "manager"):
        raise InvalidInput("role must be worker or manager")
    if not name.strip():
        raise InvalidInput("a staff member needs a name")
    key = phone_hash(settings, phone)
    member = session.scalar(select(StaffMember).where(StaffMember.phone_hash == key))
    if member is None:
        member = StaffMember(
            name=name.strip(),
            role=role,
            phone_hash=key,
            phone_encrypted=encrypt_phone(settings, phone),
        )
        session.add(member)
    else:
        member.name, member.role, member.active = name.strip(), role, True
    session.flush()
    return member


def add_shift(
    session: Session,
    *,
    starts_at: datetime,
    ends_at: datetime,
    primary_id: int,
    backup_id: int | None = None,
    manager_id: int | None = None,
) -> RotaShift:
    """Put a team on duty between two times."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidInput("times need a timezone")
    if ends_at <= starts_at:
        raise InvalidInput("a shift must end after it starts")
    if ends_at <= utcnow():
        raise InvalidInput("that shift is entirely in the past")
    for staff_id in (primary_id, backup_id, manager_id):
        if staff_id is not None and session.get(StaffMember, staff_id) is None:
            raise NotFound(f"no staff member {staff_id}")
    shift = RotaShift(
        starts_at=starts_at,
        ends_at=ends_at,
        primary_id=primary_id,
        backup_id=backup_id,
        manager_id=manager_id,
    )
    session.add(shift)
    session.flush()
    return shift


def load_from_file(session: Session, settings: Settings, *, path: Path) -> DutyTeam:
    """Load staff and the default team from a rota YAML file (see config/rota.example.yml).

    The default team is stored as a shift covering all time; shorter shifts override it.
    """
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    members = {}
    for entry in data.get("staff", []):
        member = add_staff(
            session, settings, name=entry["name"], phone=str(entry["phone"]), role=entry["role"]
        )
        members[entry["name"]] = member
    default = data.get("default_team") or {}
    try:
        primary = members[default["primary"]]
    except KeyError as exc:
        raise InvalidInput(
            "the rota file needs default_team.primary naming a staff member"
        ) from exc
    backup = members.get(default.get("backup", ""))
    manager = members.get(default.get("manager", ""))
    always = (
        datetime(2000, 1, 1, tzinfo=utcnow().tzinfo),
        datetime(9999, 1, 1, tzinfo=utcnow().tzinfo),
    )
    existing = session.scalar(
        select(RotaShift).where(RotaShift.starts_at == always[0], RotaShift.ends_at == always[1])
    )
    if existing is None:
        existing = RotaShift(starts_at=always[0], ends_at=always[1], primary_id=primary.id)
        session.add(existing)
    existing.primary_id = primary.id
    existing.backup_id = backup.id if backup else None
    existing.manager_id = manager.id if manager else None
    session.flush()
    return DutyTeam(primary=primary, backup=backup, manager=manager)
