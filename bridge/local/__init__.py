"""Local mode: the local Lex and Graph endpoints, faults, the emulator page and the sample bot."""
