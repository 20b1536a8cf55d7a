"""The named presets of each system as YAML settings files: ``fashion/<name>.yaml``, ``tickets/<name>.yaml``.

A preset holds only what differs from the defaults of its task's config; ``nnlab config show
NAME`` prints it resolved, ``nnlab config schema`` the JSON Schema every file follows, and
``nnlab train --config FILE`` takes a copy of one, edited.
"""
