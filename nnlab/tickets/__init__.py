"""System 2: support-ticket triage, the seeds' multi-input, multi-output model.

    files.py     ticket files as helpdesks export them: CSV dialects, .tsv/.txt, JSON lines, JSON, encodings
    data.py      read ticket files (own column names, priority levels), report bad rows, split
    text.py      HTML bodies to text, tags in every usual form (files, --json and HTTP alike)
    synth.py     synthetic tickets (`nnlab tickets make-data`)
    features.py  tickets -> multi-hot arrays with Keras' TextVectorization and StringLookup
    preprocessing.py  a run's fitted vocabularies and labels (vectorizer.json): the task's preprocessing hooks
    models.py    the seeds' graph, its subclass twin, add_head, the served raw-text model
    config.py    TicketsConfig and presets (triage: the default; seeds);  task.py: the core's task (``TASK``)
    report.py    run-folder extras: served.keras, model.png, confusion matrix
    triage.py    predictions for raw tickets, as rows and CSV/JSONL files
    experiment.py  T1: the seeds' own example on random inputs (`nnlab reproduce --only T1`)

The command line is ``nnlab tickets ...`` (nnlab/cli/tickets.py); the HTTP endpoint is
``POST /v1/tickets/triage`` (nnlab/serving/tickets.py).
"""
