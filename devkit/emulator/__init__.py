"""A local, Appwrite-compatible HTTP emulator for TablesDB and Messaging (Appwrite 2.5.0 behaviour).

The official `appwrite` SDK talks to it unchanged. `/v1/...` serves the API; `/_emulator/...` serves
test hooks, driven through `EmulatorControl`.

    from devkit.emulator import Emulator
    with Emulator() as emu:
        client.set_endpoint(emu.endpoint).set_project("local").set_key(emu.api_key)
"""

from .auth import DEFAULT_API_KEY
from .control import EmulatorControl, EmulatorControlError
from .server import Emulator

__all__ = ["DEFAULT_API_KEY", "Emulator", "EmulatorControl", "EmulatorControlError"]
