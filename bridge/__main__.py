"""``python -m bridge`` → the command-line interface."""

from bridge.cli import main

main()
