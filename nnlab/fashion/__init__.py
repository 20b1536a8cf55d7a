"""System 1: the lucky-bag Fashion-MNIST classifier (data, models, presets, photos, plots).

``nnlab.fashion.task.TASK`` is what the core trains, saves and evaluates.
"""
