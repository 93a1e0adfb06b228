"""What a connection sends: libpq's trace (PostgreSQL, psycopg 3), mysqlclient's calls (MariaDB).

``Trace(connection)`` starts tracing the connection's current driver connection;
``take()`` returns the statements sent since the last call and the server round
trips they made.

- PostgreSQL: only the client's messages are read (libpq flushes its trace
  when it sends): each simple ``Query`` message and each extended-protocol
  ``Sync`` is one round trip (no pipeline mode here).
- MariaDB/MySQL: each call of the MySQLdb connection's ``query``, ``ping``,
  ``autocommit``, ``commit`` and ``rollback`` is one round trip (no
  multi-statements: Django does not set the flag).

On SQLite, and on psycopg 2, it records nothing (``available`` is False).
"""

import os
import re
import tempfile

_MYSQL_CALLS = ("query", "ping", "autocommit", "commit", "rollback")
_MESSAGE = re.compile(r"^F\t\d+\t(\w+)\t?(.*)$")


class Trace:
    def __init__(self, connection):
        self.available = False
        self._offset = 0
        self._raw = None
        if connection.vendor == "mysql":
            connection.ensure_connection()
            self._mysql = []
            self._raw = raw = connection.connection
            for name in _MYSQL_CALLS:
                setattr(raw, name, self._recorded(name, getattr(raw, name)))
            self.available = True
            return
        if connection.vendor != "postgresql":
            return
        connection.ensure_connection()
        raw = connection.connection
        pgconn = getattr(raw, "pgconn", None)
        if pgconn is None:
            return
        from psycopg import pq

        self._file = tempfile.NamedTemporaryFile("w+", prefix="dat-pgtrace-", delete=False)
        self._path = self._file.name
        pgconn.trace(os.dup(self._file.fileno()))
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        self._raw = raw
        self.available = True

    def traces(self, connection):
        """Whether this trace is of ``connection``'s current libpq connection."""
        return self.available and connection.connection is self._raw

    def _recorded(self, name, call):
        def recorded(*args):
            argument = args[0] if args else ""
            if isinstance(argument, bytes):
                argument = argument.decode()
            self._mysql.append(argument if name == "query" else f"{name}({argument})")
            return call(*args)

        return recorded

    def take(self):
        """The statements sent since the last call, and the round trips they made."""
        if not self.available:
            return [], 0
        if hasattr(self, "_mysql"):
            statements, self._mysql = self._mysql, []
            return statements, len(statements)
        with open(self._path) as trace:
            trace.seek(self._offset)
            text = trace.read()
            self._offset = trace.tell()
        statements, round_trips = [], 0
        for line in text.splitlines():
            match = _MESSAGE.match(line)
            if match is None:
                continue
            kind, rest = match.groups()
            if kind == "Query":
                round_trips += 1
                statements.append(rest.strip().strip('"'))
            elif kind == "Parse":
                statements.append(rest.split('"')[3] if rest.count('"') >= 4 else rest)
            elif kind == "Sync":
                round_trips += 1
        return statements, round_trips

    def stop(self):
        if hasattr(self, "_mysql"):
            for name in _MYSQL_CALLS:
                vars(self._raw).pop(name, None)
            self._raw = None
            self.available = False
            return
        if self._raw is not None and not self._raw.closed:
            self._raw.pgconn.untrace()
        self._raw = None
        if self.available:
            os.unlink(self._path)
            self.available = False
