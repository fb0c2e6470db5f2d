"""A stand-in for a ministry's own GraphQL service (the education ministry, Kemendikbud): an
independent Federation 2 subgraph with its own data, composed with the hub behind one gateway.

It shares nothing with the hub but the entity keys: ``Region(code)`` today; ``Person(id)`` and
``Programme(code)`` once the hub exposes them as entities (see ``schema.py``).
"""
