"""The built-in emulator of the Model Router billing API, and its demo organisation.

With no credentials, :class:`~costtrend_nb.CostTrendClient` talks to it in-process;
``costtrend-nb emulator --port N`` serves it on loopback for any other client, the vendor's SDK
included (key pair :data:`DEMO_ACCESS_KEY_ID` / :data:`DEMO_ACCESS_KEY_SECRET`).

Example:
    >>> from costtrend_nb.emulator import Emulator, Faults, EmulatorTransport
    >>> transport = EmulatorTransport(Emulator(faults=Faults(error_rate=0.1), seed=7))
"""

from .serve import EmulatorServer, EmulatorTransport
from .server import DEMO_ACCESS_KEY_ID, DEMO_ACCESS_KEY_SECRET, Emulator, Faults, Reply
from .synth import DEMO_NOW, Organisation, demo_organisation
from .truth import truth

__all__ = [
    "DEMO_ACCESS_KEY_ID",
    "DEMO_ACCESS_KEY_SECRET",
    "DEMO_NOW",
    "Emulator",
    "EmulatorServer",
    "EmulatorTransport",
    "Faults",
    "Organisation",
    "Reply",
    "demo_organisation",
    "truth",
]
