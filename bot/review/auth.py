"""Console sign-in: server-side sessions and sign-in throttling.

The session cookie holds only a random token; the database keeps its SHA-256 digest, the operator, the
session's CSRF token and its expiry. Keeping sessions on the server (not in a signed cookie) means signing
out, or disabling an operator, ends their sessions at once, in every worker. A session ends after
``session_hours`` without use: each use moves its end (``keep_alive``); there is no limit on a session in use.

Sign-in attempts are recorded in the database too, so the throttle holds across workers and restarts: after
``max_sign_in_attempts`` failures for one name, or ``max_sign_in_attempts_per_address`` from one address,
within ``sign_in_window_seconds``, further attempts are refused until the window has passed. The address's
limit is the larger: a call centre's operators share one address behind its NAT, and one operator's typos
locked all of them out.

The audit log, where the supervisor reads the console's history, records every failed sign-in (the name
tried and the address, never the password: ``sign_in.failed``) and every lockout (``sign_in.locked_out``,
on the operator name or on the address). A lockout is recorded once per name or address per window, not
once per refused attempt: an attacker hammering a locked name would otherwise write the log without bound.
Failed attempts need no such cap: the lockouts already bound them to the limits per window.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Field, Session, SQLModel, col, select

from bot.clock import as_utc, utcnow
from bot.config import OperatorSettings
from bot.open311.models import UTCDateTime
from bot.review import audit
from bot.review.operators import Operator, get_operator, verify_credentials
from bot.review.views import humanize_minutes

SESSION_COOKIE = "open311_operator_session"
SIGN_IN_CSRF_COOKIE = "open311_operator_sign_in"
# The audit log's actor for what someone not signed in did: not a valid operator name (those start with a
# letter or digit), so it cannot be read as one.
NOT_SIGNED_IN = "(not signed in)"
SIGN_IN_FAILED = "sign_in.failed"
LOCKED_OUT = "sign_in.locked_out"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class OperatorSession(SQLModel, table=True):
    __tablename__ = "operator_session"

    token_digest: str = Field(primary_key=True, max_length=64)
    operator_id: int = Field(foreign_key="operator_account.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class SignInAttempt(SQLModel, table=True):
    __tablename__ = "operator_sign_in_attempt"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, max_length=64)
    client: str = Field(index=True, max_length=64)
    at: datetime = Field(default_factory=utcnow, index=True, sa_type=UTCDateTime)
    succeeded: bool = False


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Who is asking, for the length of one request."""

    operator_id: int
    name: str
    csrf_token: str


@dataclass(frozen=True, slots=True)
class NewSession:
    token: str  # goes into the cookie; never stored
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Lockout:
    """One limit a sign-in ran into: the name's (``subject_type`` "operator") or the address's ("address")."""

    subject_type: str
    key: str
    failures: int
    limit: int
    until: datetime


class Throttled(Exception):
    def __init__(self, retry_after_seconds: int, lockouts: tuple[Lockout, ...] = ()) -> None:
        super().__init__(
            f"too many failed sign-in attempts; try again in {wait_in_words(retry_after_seconds)}"
        )
        self.retry_after_seconds = retry_after_seconds
        self.lockouts = lockouts


def wait_in_words(seconds: int) -> str:
    """A wait as a person says it: "40 seconds", "5 minutes" (298 s, rounded up: not "298 s")."""
    if seconds < 60:
        return humanize_minutes(seconds / 60)
    return humanize_minutes(math.ceil(seconds / 60))


def check_throttle(session: Session, settings: OperatorSettings, name: str, client: str) -> None:
    """Raises Throttled when this name or this client failed too often within the window (each its own
    limit), naming every limit reached."""
    window = timedelta(seconds=settings.sign_in_window_seconds)
    failures = (
        select(func.count(), func.min(SignInAttempt.at))
        .where(SignInAttempt.at >= utcnow() - window)
        .where(SignInAttempt.succeeded == False)  # noqa: E712 (an SQL expression, not a Python test)
    )
    limits = (
        ("operator", name, SignInAttempt.name == name, settings.max_sign_in_attempts),
        ("address", client, SignInAttempt.client == client, settings.max_sign_in_attempts_per_address),
    )
    lockouts = []
    for subject_type, key, condition, limit in limits:
        count, oldest = session.exec(failures.where(condition)).one()
        if count >= limit and oldest is not None:
            lockouts.append(Lockout(subject_type, key, count, limit, as_utc(oldest) + window))
    if lockouts:
        free_at = max(lockout.until for lockout in lockouts)
        raise Throttled(max(1, int((free_at - utcnow()).total_seconds()) + 1), tuple(lockouts))


def _record_lockouts(session: Session, settings: OperatorSettings, throttled: Throttled, client: str) -> None:
    """Adds a lockout to the audit log unless that name or address already has one within the window."""
    since = utcnow() - timedelta(seconds=settings.sign_in_window_seconds)
    for lockout in throttled.lockouts:
        already = session.exec(
            select(audit.AuditEntry.id)
            .where(audit.AuditEntry.action == LOCKED_OUT)
            .where(audit.AuditEntry.subject_type == lockout.subject_type)
            .where(audit.AuditEntry.subject_id == lockout.key)
            .where(audit.AuditEntry.at >= since)
            .limit(1)
        ).first()
        if already is None:
            audit.add_entry(
                session,
                actor=NOT_SIGNED_IN,
                action=LOCKED_OUT,
                subject_type=lockout.subject_type,
                subject_id=lockout.key,
                after={
                    "failures": lockout.failures,
                    "limit": lockout.limit,
                    "window_seconds": settings.sign_in_window_seconds,
                    "until": lockout.until.isoformat(timespec="seconds"),
                },
                client=client,
            )


# One sign-in at a time in a process, from the throttle's count to the attempt's record: sign-ins run in
# FastAPI's thread pool, and 40 sent at once all counted the same few earlier failures and had their
# passwords checked (14 guesses where 3 were allowed). A throttled attempt is refused within milliseconds,
# so a burst waits only for the few passwords it may still try.
_ONE_SIGN_IN_AT_A_TIME = threading.Lock()


def sign_in(
    session: Session, settings: OperatorSettings, name: str, password: str, client: str
) -> tuple[Operator, NewSession] | None:
    """Checks the throttle and the credentials; on success opens a session. None when they do not match."""
    with _ONE_SIGN_IN_AT_A_TIME:
        return _sign_in(session, settings, name.strip()[:64], password, client)


def _sign_in(
    session: Session, settings: OperatorSettings, name: str, password: str, client: str
) -> tuple[Operator, NewSession] | None:
    client = client[:64]
    try:
        # Per name in any case, as names are: "Alice" and "ALICE" are guesses at the same account.
        check_throttle(session, settings, name.lower(), client)
    except Throttled as throttled:
        _record_lockouts(session, settings, throttled, client)
        session.commit()  # also hands the connection back to the pool now, not when the request is done
        raise
    operator = verify_credentials(session, name, password)
    session.add(SignInAttempt(name=name.lower(), client=client, succeeded=operator is not None))
    if operator is None or operator.id is None:
        # The name as typed (what was tried), never the password.
        audit.add_entry(
            session,
            actor=NOT_SIGNED_IN,
            action=SIGN_IN_FAILED,
            subject_type="operator",
            subject_id=name,
            client=client,
        )
        session.commit()
        return None
    # An old attempt log is useless after the window; keep the table small.
    horizon = utcnow() - timedelta(seconds=max(settings.sign_in_window_seconds, 86_400.0))
    session.exec(delete(SignInAttempt).where(col(SignInAttempt.at) < horizon))
    session.exec(delete(OperatorSession).where(col(OperatorSession.expires_at) < utcnow()))
    token = secrets.token_urlsafe(32)
    new = NewSession(
        token=token,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=utcnow() + timedelta(hours=settings.session_hours),
    )
    session.add(
        OperatorSession(
            token_digest=_digest(token),
            operator_id=operator.id,
            csrf_token=new.csrf_token,
            expires_at=new.expires_at,
        )
    )
    session.commit()
    return operator, new


def resolve_session(session: Session, token: str | None) -> SignedIn | None:
    """The operator behind a session cookie, if the session exists, has not expired and they are enabled."""
    if not token:
        return None
    stored = session.get(OperatorSession, _digest(token))
    if stored is None or as_utc(stored.expires_at) <= utcnow():
        return None
    operator = get_operator(session, stored.operator_id)
    if operator is None or operator.disabled or operator.id is None:
        return None
    return SignedIn(operator_id=operator.id, name=operator.name, csrf_token=stored.csrf_token)


def keep_alive(session: Session, token: str, idle_hours: float) -> datetime | None:
    """Moves the end of a session in use to ``idle_hours`` from now (``operator.session_hours``): a session
    ends after that long without use, never while the operator is working. To spare a write per request, it
    moves only once a tenth of that (at most a minute) has passed since it last did; returns the new end
    when it moved, else None."""
    stored = session.get(OperatorSession, _digest(token))
    if stored is None:
        return None
    idle = timedelta(hours=idle_hours)
    now = utcnow()
    if as_utc(stored.expires_at) - now > idle - min(timedelta(minutes=1), idle / 10):
        return None
    stored.expires_at = now + idle
    session.add(stored)
    session.commit()
    return stored.expires_at


def sign_out(session: Session, token: str | None) -> None:
    if token:
        session.exec(delete(OperatorSession).where(col(OperatorSession.token_digest) == _digest(token)))
        session.commit()


def end_sessions_of(session: Session, operator_id: int) -> int:
    """Ends every session of one operator (used when an account is disabled); returns how many."""
    result = session.exec(delete(OperatorSession).where(col(OperatorSession.operator_id) == operator_id))
    session.commit()
    return int(result.rowcount or 0)


def tokens_match(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))
