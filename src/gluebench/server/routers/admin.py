"""``/api/admin``: disable users, hide or flag entries (admins only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from gluebench.server import admin
from gluebench.server.db import Database
from gluebench.server.deps import admin_user, database

router = APIRouter(prefix="/api/admin", tags=["admin"], dependencies=[Depends(admin_user)])


class Flag(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)


class Hidden(BaseModel):
    hidden: bool = True


class Disabled(BaseModel):
    disabled: bool = True


@router.get("/users")
def users(db: Database = Depends(database)):
    with db.read() as s:
        return {"users": admin.list_users(s)}


@router.post("/users/{name}/disabled")
def disable(name: str, body: Disabled, db: Database = Depends(database)):
    with db.write() as s:
        return admin.set_user_disabled(s, name, body.disabled)


@router.post("/submissions/{sub_id}/hidden")
def hide(sub_id: int, body: Hidden, db: Database = Depends(database)):
    with db.write() as s:
        return admin.set_hidden(s, sub_id, body.hidden)


@router.post("/submissions/{sub_id}/flag")
def flag(sub_id: int, body: Flag, db: Database = Depends(database)):
    with db.write() as s:
        return admin.set_flag(s, sub_id, body.reason)


@router.delete("/submissions/{sub_id}/flag")
def unflag(sub_id: int, db: Database = Depends(database)):
    with db.write() as s:
        return admin.set_flag(s, sub_id, None)
