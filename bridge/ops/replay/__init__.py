"""``python -m bridge replay``: post recorded webhook bodies to a bridge, signed, and show what
it did.

Each file is one raw webhook body. Its bytes are sent unchanged (never re-serialised: the
signature covers them exactly) with ``X-Hub-Signature-256`` as Meta computes it. Against a
bridge in local mode each event is then followed to a final queue state and what the bridge
sent back is read from the local Graph inbox.

Everything but :class:`Replayer` (the HTTP) and :func:`run` (the printing) is pure:

- ``bodies``: finding the files, checking the bodies, moving their timestamps (``--retime``);
- ``target``: the webhook URL, the local-mode endpoints, the secret and the signed headers;
- ``replayer``: posting each attempt, paced, and following its events (:class:`Replayer`);
- ``outcomes``: what each attempt did, and the run's summary;
- ``report``: outcomes and the summary as terminal lines or JSON lines;
- ``console``: one run as the command prints it (:func:`run`).

The command (bridge/cli.py) uses the four names below.
"""

from __future__ import annotations

from bridge.ops.replay.bodies import find_files
from bridge.ops.replay.console import run
from bridge.ops.replay.replayer import Replayer
from bridge.ops.replay.target import choose_secret

__all__ = ["Replayer", "choose_secret", "find_files", "run"]
