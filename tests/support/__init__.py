"""Test helpers: servers, fakes and shared ids."""
