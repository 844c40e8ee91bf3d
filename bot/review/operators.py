"""Operator accounts: the people who may sign in to the console.

Accounts are created from the command line only (``open311-bot operators create NAME``); the console has
no sign-up page. Passwords are hashed with argon2id (argon2-cffi's defaults follow RFC 9106's
recommendations) and re-hashed on sign-in when those defaults change.

Names are case-insensitive: ``create_operator`` refuses "Alice" next to "alice", and the database holds the
same rule (a unique index on lower(name), migration 0016) so that two ``operators create`` run at once, or an
account written by hand, cannot make the twins either.
"""

from __future__ import annotations

import re
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, func, select

from bot.clock import utcnow
from bot.open311.models import UTCDateTime

MIN_PASSWORD_LENGTH = 10
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")
_hasher = PasswordHasher()
# Verifying against this when the name is unknown keeps the time of a failed sign-in the same whether or
# not the account exists, so timing does not reveal operator names.
_DUMMY_HASH = _hasher.hash("no such operator, constant-time filler")


class OperatorError(ValueError):
    """An account cannot be created or changed; the message says why."""


class Operator(SQLModel, table=True):
    __tablename__ = "operator_account"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True, max_length=64)
    password_hash: str
    disabled: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_sign_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


def validate_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise OperatorError(
            "an operator name is 2 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


def validate_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise OperatorError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters long")
    if password != password.strip():
        raise OperatorError("the password must not start or end with spaces (a pasted newline?)")
    return password


def create_operator(session: Session, name: str, password: str) -> Operator:
    validate_name(name)
    validate_password(password)
    if _named(session, name):
        # Names are case-insensitive: "Alice" next to "alice" would be two accounts one person signs in to.
        raise _taken(session, name)
    operator = Operator(name=name, password_hash=_hasher.hash(password))
    session.add(operator)
    try:
        session.commit()
    except IntegrityError as exc:
        # Created meanwhile by someone else (the unique index on lower(name) caught what the check above
        # could not see yet): said as plainly as the check says it.
        session.rollback()
        raise _taken(session, name) from exc
    session.refresh(operator)
    return operator


def _taken(session: Session, name: str) -> OperatorError:
    taken = _named(session, name)
    return OperatorError(f"an operator named {(taken[0].name if taken else name)!r} already exists")


def _named(session: Session, name: str) -> list[Operator]:
    """The accounts whose name is ``name`` in any case (names are ASCII: lower() is the same everywhere)."""
    query = select(Operator).where(func.lower(Operator.name) == name.lower()).order_by(col(Operator.id))
    return list(session.exec(query).all())


def find_operator(session: Session, name: str) -> Operator | None:
    """The account named ``name``, in any case ("Alice" is alice). Accounts created before names were
    case-insensitive may differ only in case: then the exact name finds its own, and any other spelling
    none (which of them would be a guess)."""
    found = _named(session, name)
    exact = [operator for operator in found if operator.name == name]
    if exact:
        return exact[0]
    return found[0] if len(found) == 1 else None


def get_operator(session: Session, operator_id: int) -> Operator | None:
    return session.get(Operator, operator_id)


def list_operators(session: Session) -> list[Operator]:
    return list(session.exec(select(Operator).order_by(Operator.name)).all())


def set_disabled(session: Session, name: str, disabled: bool) -> Operator:
    operator = find_operator(session, name)
    if operator is None:
        raise OperatorError(f"no operator named {name!r}")
    operator.disabled = disabled
    session.add(operator)
    session.commit()
    session.refresh(operator)
    return operator


def set_password(session: Session, name: str, password: str) -> Operator:
    validate_password(password)
    operator = find_operator(session, name)
    if operator is None:
        raise OperatorError(f"no operator named {name!r}")
    operator.password_hash = _hasher.hash(password)
    session.add(operator)
    session.commit()
    session.refresh(operator)
    return operator


def verify_credentials(session: Session, name: str, password: str) -> Operator | None:
    """The operator if the name and password match an enabled account; None otherwise."""
    operator = find_operator(session, name)
    stored = operator.password_hash if operator is not None else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if operator is None or operator.disabled:
        return None
    if _hasher.check_needs_rehash(operator.password_hash):
        operator.password_hash = _hasher.hash(password)
    operator.last_sign_in_at = utcnow()
    session.add(operator)
    session.commit()
    session.refresh(operator)
    return operator
