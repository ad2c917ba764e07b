#!/usr/bin/python3
"""sqlite: SQL in an in-memory database kept per session, for ```sql fences."""
import os, sqlite3, sys  # noqa: E401
sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), ".."))
import hintfleet_tool as ht  # noqa: E402

class SQLite:
    def __init__(self):
        self.sessions = ht.Sessions()
    def describe(self):
        return ht.Description(name="sqlite", version="0.1.0", languages=["sql", "sqlite"])
    def open(self, req):  # ATTACH would reach files: refused
        db = sqlite3.connect(":memory:", check_same_thread=False)
        db.set_authorizer(lambda op, *_: sqlite3.SQLITE_DENY if op == sqlite3.SQLITE_ATTACH else sqlite3.SQLITE_OK)
        return self.sessions.new(db)
    def exec(self, req):  # every statement runs; rows print as a|b|c
        db, out, stmt = self.sessions.get(req.session), [], ""
        try:
            for part in req.code.split(";"):
                stmt += part + ";"
                if sqlite3.complete_statement(stmt):
                    out += ["|".join(map(str, r)) + "\n" for r in db.execute(stmt)] if stmt.strip("; \n\t") else []
                    stmt = ""
            return ht.Result(stdout="".join(out))
        except sqlite3.Error as e:
            return ht.Result(stderr=f"error: {e}\n", exit_code=1)
    def close(self, session):
        self.sessions.pop(session).close()

ht.serve(SQLite())
