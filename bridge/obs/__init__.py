"""Observability: logs and metrics. Anyone may import these; they import nothing above messenger."""
