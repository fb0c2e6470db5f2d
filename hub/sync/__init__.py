"""Connector configuration and the sync engine: pull from external systems into the hub, exactly once."""
