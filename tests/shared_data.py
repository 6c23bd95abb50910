"""Where the public data sets live: ``../shared/data`` beside the clone (as CI lays it out).

``HEMS_SHARED_DATA`` overrides it. Tests that use these files skip cleanly when they are absent,
because most of the data carries no licence that would let us ship it.
"""

from __future__ import annotations

import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(
    os.environ.get("HEMS_SHARED_DATA", str(_ROOT.parent / "shared" / "data"))
).resolve()
