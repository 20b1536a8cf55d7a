"""The task-neutral core: config, training, saving, evaluation, run folders, plots, errors.

Nothing here knows a dataset; a system hands its data and models over through
``nnlab.core.task.Task``.
"""
