"""``python -m bench.fuzz`` (``make fuzz``): see ``bench.fuzz``."""

from __future__ import annotations

import sys

from bench.fuzz.command import main

if __name__ == "__main__":
    sys.exit(main())
