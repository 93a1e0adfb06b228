"""What a PostgreSQL connection sends: libpq's trace of its messages (psycopg 3).

``Trace(connection)`` starts tracing the connection's current libpq connection;
``take()`` returns the statements sent since the last call and the server round
trips they made. Only the client's messages are read (libpq flushes its trace
when it sends): each simple ``Query`` message and each extended-protocol
``Sync`` is one round trip (no pipeline mode here). On other backends, and on
psycopg 2, it records nothing (``available`` is False).
"""

import os
import re
import tempfile

_MESSAGE = re.compile(r"^F\t\d+\t(\w+)\t?(.*)$")


class Trace:
    def __init__(self, connection):
        self.available = False
        self._offset = 0
        self._raw = None
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

    def take(self):
        """The statements sent since the last call, and the round trips they made."""
        if not self.available:
            return [], 0
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
        if self._raw is not None and not self._raw.closed:
            self._raw.pgconn.untrace()
        self._raw = None
        if self.available:
            os.unlink(self._path)
            self.available = False
