"""The seeds' experiments E1-E10 (``experiments``) and ``nnlab reproduce`` (``reproduce``): their verdicts
(``verdicts``), which runs are trained, shared, reused or continued (``runner``), results.json (``results``)
and the report pages rendered from it (``report``).
"""
