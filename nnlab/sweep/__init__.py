"""``nnlab sweep``: hyperparameter search over any dotted setting, every trial an ordinary run folder.

Stages, one module each: :mod:`~nnlab.sweep.spec` (the YAML spec, checked before
anything runs), :mod:`~nnlab.sweep.trials` (one configuration trained as run
folders), :mod:`~nnlab.sweep.search` (the Optuna study and its worker processes),
:mod:`~nnlab.sweep.local` (the local executor: workers, progress, Ctrl-C) and
:mod:`~nnlab.sweep.results` (results.csv, best.yaml, report.html).
"""
