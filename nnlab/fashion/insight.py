"""What ``nnlab report`` adds for Fashion-MNIST runs (nnlab.core.report finds this module by name).

- the most confidently wrong items as a gallery: the 28x28 input the model saw, the true class,
  the predicted class and its probability;
- what the model learned: for dense models the first Dense layer's weights of each unit as a
  28x28 picture (the 16 hidden units with the largest outgoing weights, by the L2 norm of their
  row in the next Dense layer's kernel; for logreg, whose first Dense layer is the output, the ten
  class templates); for CNNs the first convolution's filters and their activation maps on a few
  items of the split (the layers applied in order, in inference mode, up to that convolution).
"""

import numpy as np

from nnlab.core.report import Section, escape

UNITS = 16  # hidden units pictured
ACTIVATION_ITEMS = 4  # items whose first-convolution maps are shown
MAPS = 12  # channels shown per item


def sections(ctx):
    result = [gallery_section(ctx)]
    learned = learned_section(ctx)
    if learned is not None:
        result.append(learned)
    return result


def gallery_section(ctx):
    from nnlab.core.plots import plt, save_figure

    wrong = ctx.outputs["class"]["wrong"]
    if not wrong:
        return Section("gallery", "Most confidently wrong items", "<p>No item is wrong.</p>")
    columns = 6
    rows = -(-len(wrong) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.1 * columns, 2.5 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, item in zip(axes.flat, wrong):
        ax.imshow(np.asarray(ctx.x[item["index"]]).reshape(28, 28), cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"#{item['index']} true {item['true']}\npredicted {item['predicted']} "
                     f"{item['probability']:.2f}", fontsize=8)
    fig.suptitle(f"{ctx.run_dir.name}: most confidently wrong, {ctx.split} split")
    save_figure(fig, ctx.out_dir / "wrong-gallery.png")
    return Section("gallery", "Most confidently wrong items",
                   f"<p class=note>The 28x28 input the model saw; above each, its index in the {ctx.split} "
                   "split, the true class, the predicted class and its probability.</p>"
                   '<img src="wrong-gallery.png" alt="most confidently wrong items">', ("wrong-gallery.png",))


def _dense_layers(model):
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def _first_conv(model):
    import keras

    return next((layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)), None)


def learned_section(ctx):
    """Dense models: first-layer weights as pictures; CNNs: first-convolution filters and activation maps."""
    model = ctx.raw
    conv = _first_conv(model)
    if conv is not None:
        return _conv_section(ctx, model, conv)
    dense = _dense_layers(model)
    if dense and int(dense[0].kernel.shape[0]) == 28 * 28:
        return _dense_section(ctx, dense)
    return None


def _dense_section(ctx, dense):
    from nnlab.core.plots import plt, save_figure

    kernel = np.asarray(dense[0].kernel)  # (784, units)
    if len(dense) > 1:  # hidden units, ranked by how much the next layer listens to them
        strength = np.linalg.norm(np.asarray(dense[1].kernel), axis=1)  # (units,)
        units = np.argsort(-strength, kind="stable")[:UNITS]
        names = [f"unit {u} (out {strength[u]:.2f})" for u in units]
        what = (f"the {len(units)} of {kernel.shape[1]} hidden units of {dense[0].name} with the largest "
                f"outgoing weights (L2 norm of their row in {dense[1].name}'s kernel)")
    else:  # logreg: the output units are the classes
        units = np.arange(kernel.shape[1])
        labels = ctx.labels("class")
        names = [labels[u] if u < len(labels) else f"unit {u}" for u in units]
        what = f"each class's weights in {dense[0].name} (logistic regression: one template per class)"
    columns = min(8, len(units))
    rows = -(-len(units) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.9 * columns, 2.4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, unit, name in zip(axes.flat, units, names):
        weights = kernel[:, unit].reshape(28, 28)
        bound = float(np.abs(weights).max()) or 1.0
        ax.imshow(weights, cmap="RdBu_r", vmin=-bound, vmax=bound)  # red: pixels that excite, blue: inhibit
        ax.set_title(name, fontsize=7)
    fig.suptitle(f"{ctx.run_dir.name}: first-layer weights as 28x28 pictures")
    save_figure(fig, ctx.out_dir / "first-layer-weights.png")
    return Section("learned", "What the model learned: first-layer weights",
                   f"<p class=note>{escape(what)}; red pixels raise the unit's input, blue ones lower it.</p>"
                   '<img src="first-layer-weights.png" alt="first-layer weights">', ("first-layer-weights.png",),
                   {"layer": dense[0].name, "units": [int(u) for u in units]})


def _conv_section(ctx, model, conv):
    from nnlab.core.plots import plt, save_figure

    kernel = np.asarray(conv.kernel)  # (3, 3, in channels, filters)
    filters = kernel.shape[-1]
    columns = min(12, filters)
    rows = -(-filters // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.2 * columns, 1.3 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for index, ax in zip(range(filters), axes.flat):
        weights = kernel[:, :, :, index].mean(axis=-1)
        bound = float(np.abs(weights).max()) or 1.0
        ax.imshow(weights, cmap="RdBu_r", vmin=-bound, vmax=bound)
        ax.set_title(str(index), fontsize=7)
    fig.suptitle(f"{conv.name}: {filters} filters {kernel.shape[0]}x{kernel.shape[1]}")
    save_figure(fig, ctx.out_dir / "conv-filters.png")
    images = ["conv-filters.png"]
    note = ""
    maps = _activations(model, conv, np.asarray(ctx.x[:ACTIVATION_ITEMS]))
    if maps is None:
        note = "<p class=note>Activation maps: the model's layers cannot be applied one by one.</p>"
    else:
        shown = min(MAPS, maps.shape[-1])
        fig, axes = plt.subplots(len(maps), shown + 1, figsize=(1.3 * (shown + 1), 1.4 * len(maps)), squeeze=False)
        labels, true = ctx.labels("class"), ctx.true("class")
        for row, item in enumerate(maps):
            axes[row][0].imshow(np.asarray(ctx.x[row]).reshape(28, 28), cmap="gray", vmin=0, vmax=1)
            axes[row][0].set_title(f"#{row} {labels[true[row]]}", fontsize=7)
            for channel in range(shown):
                axes[row][channel + 1].imshow(item[:, :, channel], cmap="viridis")
                if row == 0:
                    axes[row][channel + 1].set_title(f"filter {channel}", fontsize=7)
        for ax in axes.flat:
            ax.axis("off")
        fig.suptitle(f"{conv.name}'s activation maps (after its ReLU), first {len(maps)} {ctx.split} items")
        save_figure(fig, ctx.out_dir / "conv-activations.png")
        images.append("conv-activations.png")
    body = ("<p class=note>The first convolution's filters (mean over input channels; red positive, blue "
            "negative) and what they respond to on a few items.</p>"
            + "".join(f'<img src="{name}" alt="{name}">' for name in images) + note)
    return Section("learned", "What the model learned: first convolution", body, tuple(images),
                   {"layer": conv.name, "filters": int(filters)})


def _activations(model, conv, x):
    """The output of ``conv`` for ``x``: the model's layers applied in order (inference mode), or None."""
    import keras

    out = keras.ops.convert_to_tensor(x.astype("float32"))
    try:
        for layer in model.layers:
            out = layer(out, training=False)
            if layer is conv:
                return np.asarray(keras.ops.convert_to_numpy(out))[:len(x)]  # mirror-averaged models double
    except Exception:  # noqa: BLE001  a model that is not a plain stack of layers (e.g. branches)
        return None
    return None
