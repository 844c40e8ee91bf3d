"""API keys: one per application, stored as a SHA-256 hash, created, listed and revoked by the CLI.

A key is 32 random bytes (URL-safe text), so a fast hash is as strong as a slow one here and lets POST
requests check a key with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from bot.clock import utcnow
from bot.db import SessionFactory
from bot.open311.errors import Forbidden, InvalidInput, NotFound
from bot.open311.models import ApiKey, ApiKeyRow

_PREFIX_LENGTH = 8
_keys_table = ApiKeyRow.__table__  # type: ignore[attr-defined]
# Built once (Core, not ORM): checking a key is on the path of every POST.
_KEY_BY_HASH = select(
    _keys_table.c.id,
    _keys_table.c.app_name,
    _keys_table.c.key_prefix,
    _keys_table.c.created_at,
    _keys_table.c.revoked_at,
).where(_keys_table.c.key_hash == bindparam("key_hash"))


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _public(row: ApiKeyRow) -> ApiKey:
    assert row.id is not None
    return ApiKey(
        id=row.id,
        app_name=row.app_name,
        key_prefix=row.key_prefix,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


class KeyStore:
    def __init__(self, session_factory: SessionFactory) -> None:
        self._sessions = session_factory

    def create(self, app_name: str) -> tuple[ApiKey, str]:
        """Creates a key for ``app_name``; returns it with the plain key, which is never stored."""
        name = app_name.strip()
        if not name or len(name) > 255:
            raise InvalidInput("the application name must be 1 to 255 characters", field="app_name")
        plain = secrets.token_urlsafe(32)
        row = ApiKeyRow(
            app_name=name, key_hash=hash_key(plain), key_prefix=plain[:_PREFIX_LENGTH], created_at=utcnow()
        )
        with self._sessions() as session:
            session.add(row)
            session.commit()
            return _public(row), plain

    def list(self, include_revoked: bool = True) -> list[ApiKey]:
        with self._sessions() as session:
            query = select(ApiKeyRow).order_by(col(ApiKeyRow.id))
            if not include_revoked:
                query = query.where(col(ApiKeyRow.revoked_at).is_(None))
            return [_public(row) for row in session.scalars(query)]

    def revoke(self, key_id: int) -> ApiKey:
        with self._sessions() as session:
            row = session.get(ApiKeyRow, key_id)
            if row is None:
                raise NotFound(f"no API key with id {key_id}", field="key_id")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
                session.commit()
            return _public(row)

    def revoke_app(self, app_name: str) -> int:
        """Revokes every active key of an application; returns how many."""
        with self._sessions() as session:
            result = session.execute(
                update(ApiKeyRow)
                .where(col(ApiKeyRow.app_name) == app_name, col(ApiKeyRow.revoked_at).is_(None))
                .values(revoked_at=utcnow())
            )
            session.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]

    def verify(self, key: str | None, session: Session | None = None) -> ApiKey:
        """The active key matching ``key``; Forbidden when it is missing, unknown or revoked."""
        if not key:
            raise Forbidden("api_key is required to submit a service request", field="api_key")
        parameters = {"key_hash": hash_key(key)}
        if session is not None:
            row = session.execute(_KEY_BY_HASH, parameters).first()
        else:
            with self._sessions() as own:
                row = own.execute(_KEY_BY_HASH, parameters).first()
        if row is None:
            raise Forbidden("invalid api_key", field="api_key")
        if row.revoked_at is not None:
            raise Forbidden("this api_key has been revoked", field="api_key")
        return ApiKey(*row)
