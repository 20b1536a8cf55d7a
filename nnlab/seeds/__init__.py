"""The seeds' experiments E1-E10 (``experiments``), ``nnlab reproduce`` (``reproduce``),
results.json (``results``) and the report pages (``report``).
"""
