"""Deployable examples built around the bridge (each with a README beside its code)."""
