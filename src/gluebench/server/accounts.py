"""Users: create (the token is returned once, only its hash is kept), look up, disable."""

from __future__ import annotations

import re
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from gluebench.errors import UsageError
from gluebench.formats.fields import quote
from gluebench.server.db import User
from gluebench.server.errors import Forbidden, Unauthorized
from gluebench.server.security import new_token, same_hash, token_hash

USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def add_user(session: Session, name: str, *, admin: bool = False) -> str:
    """Create a user and return its API token (the only time it exists in clear)."""
    if not USER_NAME.fullmatch(name):
        raise UsageError(f"invalid user name {quote(name)}: use 1-64 letters, digits, '_', "
                         "'.' or '-', starting with a letter or digit")
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise UsageError(f"user '{name}' already exists")
    token = new_token()
    session.add(User(name=name, token_hash=token_hash(token), is_admin=admin, disabled=False,
                     created_at=time.time()))
    return token


def get_user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise UsageError(f"no user {quote(name)}")
    return user


def set_disabled(session: Session, name: str, disabled: bool = True) -> User:
    user = get_user(session, name)
    user.disabled = disabled
    return user


def authenticate(session: Session, token: str) -> User:
    """The user a token belongs to; ``Unauthorized`` for an unknown one."""
    user = session.scalar(select(User).where(User.token_hash == token_hash(token)))
    if user is None or not same_hash(user.token_hash, token):
        raise Unauthorized("invalid token")
    if user.disabled:
        raise Forbidden("this account is disabled")
    return user
