#!/usr/bin/env python3
"""Builds a ZenML SQL database fixture with the genuine encryption code.

Reads a JSON spec on stdin:
  {"key": "..." or null, "schema": "private" | "scope", "sqlite": PATH or null,
   "users": [{"id": UUID, "name": str}],
   "secrets": [{"id": UUID, "name": str, "private": bool, "user": UUID,
                "values": {str: str} or null}]}

Encodes each secret's values exactly as ZenML's SQL secrets store does
(zen_stores/schemas/secret_schemas.py SecretSchema._dump_secret_values):
json.dumps(values), then with an encryption key sqlalchemy-utils'
AesGcmEngine after _update_key(key) (as SqlSecretsStore._initialize),
without one base64.b64encode. "values": null is a secret whose values live
in an external secrets store (the column is NULL).

With "sqlite", writes the tables "user" and "secret" as ZenML's schema
defines them (ids as SQLModel's GUID stores them: 32 hex characters),
either the 0.80+ shape (private) or the 0.54-0.7x one (scope, workspace_id).
Always prints the encoded rows as JSON on stdout, so a test can insert the
same ciphertexts into MySQL/MariaDB.
"""
import base64
import json
import sys
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy_utils.types.encrypted.encrypted_type import AesGcmEngine


def encode(values, engine):
    serialized = json.dumps(values)
    if engine is None:
        return base64.b64encode(serialized.encode("utf-8")).decode("ascii")
    return engine.encrypt(serialized)


def main():
    spec = json.load(sys.stdin)
    engine = None
    if spec.get("key"):
        engine = AesGcmEngine()
        engine._update_key(spec["key"])
    hexid = lambda u: uuid.UUID(u).hex
    rows = []
    t0 = datetime(2025, 3, 1, 9, 0, 0)
    for i, s in enumerate(spec["secrets"]):
        rows.append({
            "id": hexid(s["id"]),
            "name": s["name"],
            "private": bool(s["private"]),
            "user_id": hexid(s["user"]),
            "values": None if s["values"] is None else encode(s["values"], engine),
            "created": (t0 + timedelta(seconds=i)).isoformat(sep=" "),
        })
    users = [{"id": hexid(u["id"]), "name": u["name"]} for u in spec["users"]]

    if spec.get("sqlite"):
        db = sa.create_engine("sqlite:///" + spec["sqlite"])
        md = sa.MetaData()
        user = sa.Table(
            "user", md,
            sa.Column("id", sa.CHAR(32), primary_key=True),
            sa.Column("name", sa.String(255), nullable=False),
            sa.Column("created", sa.DateTime, nullable=False),
            sa.Column("updated", sa.DateTime, nullable=False),
            sa.Column("is_service_account", sa.Boolean, nullable=False),
        )
        cols = [
            sa.Column("id", sa.CHAR(32), primary_key=True),
            sa.Column("created", sa.DateTime, nullable=False),
            sa.Column("updated", sa.DateTime, nullable=False),
            sa.Column("name", sa.String(255), nullable=False),
            sa.Column("values", sa.TEXT, nullable=True),
            sa.Column("user_id", sa.CHAR(32), sa.ForeignKey("user.id", ondelete="CASCADE"), nullable=False),
        ]
        if spec.get("schema", "private") == "private":
            cols.append(sa.Column("private", sa.Boolean, nullable=False))
        else:
            cols.append(sa.Column("scope", sa.String(50), nullable=False))
            cols.append(sa.Column("workspace_id", sa.CHAR(32), nullable=False))
        secret = sa.Table("secret", md, *cols)
        md.create_all(db)
        now = datetime(2025, 3, 1, 8, 0, 0)
        with db.begin() as conn:
            for u in users:
                conn.execute(user.insert().values(id=u["id"], name=u["name"], created=now, updated=now, is_service_account=False))
            for r in rows:
                row = {"id": r["id"], "name": r["name"], "values": r["values"], "user_id": r["user_id"],
                       "created": datetime.fromisoformat(r["created"]), "updated": datetime.fromisoformat(r["created"])}
                if spec.get("schema", "private") == "private":
                    row["private"] = r["private"]
                else:
                    # SecretScope as SQLModel's Enum column stores it: the
                    # member name
                    row["scope"] = "USER" if r["private"] else "WORKSPACE"
                    row["workspace_id"] = uuid.UUID(int=1).hex
                conn.execute(secret.insert().values(**row))
    json.dump({"users": users, "secrets": rows}, sys.stdout)


if __name__ == "__main__":
    main()
