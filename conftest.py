"""Settings for every pytest session in this tree, nbval's notebooks included.

The committed notebooks' outputs were made on the bundled samples' reference day (their order
dates count back from it), so their forecast dates hold only on that day: every session audits
as of it through ``RELINK_TODAY``, as ``make notebooks`` does. Tests of the clock itself set
or remove it with ``monkeypatch``.
"""

import os

from relink.samples import REFERENCE_DATE

os.environ["RELINK_TODAY"] = REFERENCE_DATE.date().isoformat()
