"""tests.settings, with SQLite test databases in files (kept by --reuse-db), not in memory."""

import os

from tests.settings import *  # noqa: F403
from tests.settings import BACKEND, DATABASES

if BACKEND == "sqlite":
    _directory = os.environ["DAT_SQLITE_DIR"]
    for _alias, _database in DATABASES.items():
        _database["TEST"] = {"NAME": os.path.join(_directory, f"test_{_alias}.sqlite3")}
