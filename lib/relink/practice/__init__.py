"""Practice: the embedded sandbox, its seeded sample accounts, the panel's practice bar and
``relink rehearse``.

The only part of the library that imports :mod:`relink.sandbox`. It gives the change
(:mod:`relink.runbook`) a :class:`~relink.runbook.connection.Connection` like any other, with
the sandbox's clock and the practice bar attached (:mod:`~relink.practice.embedded`; what it
keeps with the connection, the sandbox's clock and the tickets opened on it, is
:mod:`~relink.practice.world`); the
merchant's and the clock's moves are :mod:`~relink.practice.actions`, their buttons
:mod:`~relink.practice.bar`, and the scripted walk through a whole change
:mod:`~relink.practice.rehearsal`.
"""
