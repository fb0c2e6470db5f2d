"""A stand-in for a ministry's own GraphQL service (the education ministry, Kemendikbud): an
independent Federation 2 subgraph with its own data, composed with the hub behind one gateway.

It shares nothing with the hub but the entity keys: ``Region(code)``, ``Programme(code)`` and
``Person(id)`` (the hub's global ID; see ``data.py`` for how the mock knows them).
"""
