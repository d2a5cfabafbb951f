"""``python -m bench.soak`` (``make soak``): see ``bench.soak``."""

import sys

from bench.soak.run import main

sys.exit(main())
