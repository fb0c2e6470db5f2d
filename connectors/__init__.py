"""Connectors to external government systems, behind typed ports.

This package imports nothing from ``hub`` or ``schema``: the hub depends on the ports in
``connectors.ports``, and the concrete HTTP clients live one folder per system.
"""
