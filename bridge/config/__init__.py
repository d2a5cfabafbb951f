"""Configuration: Settings read once from the environment, the pages file, value patterns."""
