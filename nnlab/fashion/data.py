"""Data stage: find, check, decode, cache and split Fashion-MNIST.

``load_fashion_mnist()`` is a drop-in for ``keras.datasets.fashion_mnist.load_data()``
that works offline: it reads the four IDX files (``.gz`` or raw) from the first
place that has them, checks their headers and SHA-256, and caches the decoded
arrays so that a warm load takes a few hundredths of a second.

    >>> from nnlab.fashion.data import load_fashion_mnist, load_splits
    >>> (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    >>> x_train.shape, x_train.dtype, y_train[:10].tolist()
    ((60000, 28, 28), dtype('uint8'), [9, 0, 0, 3, 0, 2, 7, 2, 5, 5])
    >>> splits = load_splits()          # the seeds' 48,000 / 12,000 split, scaled to 0..1
    >>> splits.y_train[:10].tolist()
    [7, 3, 5, 8, 6, 9, 3, 3, 9, 9]

Places searched, in order: the ``data_dir`` argument (``--data-dir``),
``$NNLAB_DATA_DIR``, ``~/.keras/datasets/fashion-mnist``,
``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist``), and
last Keras' own download, which needs the internet.
"""

import dataclasses
import gzip
import hashlib
import json
import os
import shutil
import struct
import warnings
from pathlib import Path

import numpy as np

from nnlab.core.errors import NnlabError
from nnlab.core.task import Output, Splits

CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
NUM_CLASSES = len(CLASS_NAMES)
# The classifier's one output, as the core's task interface declares it (here, not in task.py, which imports
# Keras: the server and a cold `nnlab predict` name predictions without it).
CLASS_OUTPUT = Output("class", "sparse_categorical_crossentropy", ("accuracy",), labels=CLASS_NAMES)
IMAGE_SHAPE = (28, 28)

# Decompressed SHA-256 and size of the official files (from SEEDS.md).
FILES = {
    "train-images-idx3-ubyte": ("c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", 47_040_016),
    "train-labels-idx1-ubyte": ("bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", 60_008),
    "t10k-images-idx3-ubyte": ("5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", 7_840_016),
    "t10k-labels-idx1-ubyte": ("0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", 10_008),
}
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
INSTALL_HINT = (
    "install it with `sudo apt-get install -y dataset-fashion-mnist` (Debian/Ubuntu), "
    "or put the four IDX files (.gz or raw) in a folder and pass --data-dir FOLDER "
    "or set NNLAB_DATA_DIR"
)
_IDX_MAGIC = {3: 0x00000803, 1: 0x00000801}  # unsigned bytes, 3 or 1 dimensions


class DataWarning(UserWarning):
    """The data loaded, but is not the official Fashion-MNIST (hash mismatch)."""


def search_dirs(data_dir=None):
    """The folders searched for the IDX files, in order (see the module docstring)."""
    dirs = []
    if data_dir is not None:
        dirs.append(Path(data_dir).expanduser())
    if os.environ.get("NNLAB_DATA_DIR"):
        dirs.append(Path(os.environ["NNLAB_DATA_DIR"]).expanduser())
    dirs.append(Path("~/.keras/datasets/fashion-mnist").expanduser())
    dirs.append(DEBIAN_DIR)
    return dirs


def _find_files(folder):
    """Map each IDX name to its file in ``folder`` (raw preferred, then .gz); None if any is missing."""
    found = {}
    for name in FILES:
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                found[name] = candidate
                break
        else:
            return None
    return found


def _read_idx(path, ndim):
    """Decode one IDX file of unsigned bytes; returns (array, sha256 of the raw bytes)."""
    try:
        raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError) as error:  # BadGzipFile is an OSError
        raise NnlabError(
            f"Cannot read {path}: {error}. The file is truncated or corrupt; "
            f"replace it with a fresh copy ({INSTALL_HINT})."
        ) from None
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise NnlabError(f"{path} is truncated: {len(raw)} bytes, shorter than an IDX header. Replace the file.")
    magic, *dims = struct.unpack(f">{1 + ndim}I", raw[:header_size])
    if magic != _IDX_MAGIC[ndim]:
        raise NnlabError(
            f"{path} is not an IDX file of {ndim}-D unsigned bytes: magic number "
            f"0x{magic:08x}, expected 0x{_IDX_MAGIC[ndim]:08x}. Replace the file."
        )
    expected = header_size + int(np.prod(dims))
    if len(raw) != expected:
        raise NnlabError(
            f"{path} is truncated or corrupt: {len(raw)} bytes, its header {tuple(dims)} "
            f"needs {expected}. Replace the file."
        )
    array = np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(dims)
    return array, hashlib.sha256(raw).hexdigest()


def _decode(files):
    arrays, hashes = {}, {}
    for name, path in files.items():
        arrays[name], hashes[name] = _read_idx(path, ndim=3 if "images" in name else 1)
    for split, (images, labels) in {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
                                    "t10k": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}.items():
        x, y = arrays[images], arrays[labels]
        if x.shape[1:] != IMAGE_SHAPE:
            raise NnlabError(f"{files[images]} holds images of {x.shape[1:]} pixels, expected {IMAGE_SHAPE}.")
        if len(x) != len(y):
            raise NnlabError(f"{files[images]} has {len(x)} images but {files[labels]} has {len(y)} labels; "
                             "they must match.")
        if y.size and y.max() >= NUM_CLASSES:
            raise NnlabError(f"{files[labels]} has label {int(y.max())}, expected 0..{NUM_CLASSES - 1}.")
    return arrays, hashes


def _cache_dir(files):
    """Cache folder keyed by the source files' paths, sizes and modification times."""
    key = hashlib.sha1()
    for path in files.values():
        stat = path.stat()
        key.update(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    root = Path(os.environ.get("NNLAB_CACHE_DIR", "~/.cache/nnlab")).expanduser()
    return root / f"fashion-mnist-{key.hexdigest()[:16]}"


def _load_from(files):
    """Arrays and hashes for these files, from the cache when it is warm.

    The cache is one plain ``.npy`` per file (no zip), so a warm load is a few
    memory copies: about 0.05 s for all 70,000 images.
    """
    cache = _cache_dir(files)
    try:
        hashes = json.loads((cache / "sha256.json").read_text())
        return {name: np.load(cache / f"{name}.npy") for name in FILES}, hashes
    except (OSError, ValueError):
        pass  # cold or unreadable cache: decode and (re)write it
    arrays, hashes = _decode(files)
    try:
        tmp = cache.with_name(cache.name + f".tmp{os.getpid()}")
        tmp.mkdir(parents=True, exist_ok=True)
        for name, array in arrays.items():
            np.save(tmp / f"{name}.npy", array)
        (tmp / "sha256.json").write_text(json.dumps(hashes))
        shutil.rmtree(cache, ignore_errors=True)  # an unreadable cache: replace it (a folder cannot replace one)
        tmp.replace(cache)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)  # a read-only or concurrently written cache only costs speed
    return arrays, hashes


def _download_with_keras():
    """Keras' own loader (needs the internet); None when it fails."""
    import keras

    try:
        return keras.datasets.fashion_mnist.load_data()
    except OSError:  # refused, no disk space, ...
        return None
    except Exception as error:  # keras.utils.get_file turns URLError/HTTPError into a bare Exception
        if str(error).startswith("URL fetch failure"):
            return None
        raise


@dataclasses.dataclass
class DataSource:
    """Where the data came from and whether it is the official Fashion-MNIST."""

    folder: str
    files: dict
    sha256: dict
    official: bool


def locate(data_dir=None, download=True):
    """Load the raw arrays and describe their source.

    Returns ``((x_train, y_train), (x_test, y_test)), DataSource``.
    Raises :class:`NnlabError` naming every place tried when no copy is found.
    """
    tried = []
    for folder in search_dirs(data_dir):
        files = _find_files(folder)
        if files is None:
            tried.append(str(folder))
            continue
        arrays, hashes = _load_from(files)
        mismatched = [name for name, (sha, _) in FILES.items() if hashes[name] != sha]
        if mismatched:
            warnings.warn(
                f"{folder}: {', '.join(mismatched)} differ from the official Fashion-MNIST "
                "(SHA-256 mismatch). Fine for your own IDX data; otherwise reinstall the data.",
                DataWarning, stacklevel=2,
            )
        source = DataSource(str(folder), {k: str(v) for k, v in files.items()}, hashes, not mismatched)
        data = ((arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"]),
                (arrays["t10k-images-idx3-ubyte"], arrays["t10k-labels-idx1-ubyte"]))
        return data, source
    if download and os.environ.get("NNLAB_OFFLINE") != "1":
        data = _download_with_keras()
        if data is not None:
            return data, DataSource("keras download (~/.keras/datasets/fashion-mnist)", {}, {}, True)
        tried.append("Keras' download (no internet)")
    raise NnlabError("Fashion-MNIST not found. Looked in: " + "; ".join(tried) + f". To fix: {INSTALL_HINT}.")


def load_fashion_mnist(data_dir=None):
    """Fashion-MNIST as ``((x_train, y_train), (x_test, y_test))``, uint8, like Keras' loader.

    Shapes: (60000, 28, 28), (60000,), (10000, 28, 28), (10000,).
    """
    data, _ = locate(data_dir)
    return data


def scale(images):
    """Pixels 0..255 (uint8) -> float32 0..1, as the seeds' ``/ 255.0`` but in float32."""
    return images.astype(np.float32) / np.float32(255.0)


VALIDATION_CHOICES = ("seeds", "stratified", "none")


def split_train_val(x, y, validation="seeds", val_fraction=0.2, seed=42):
    """Split train into train/val as the seeds do: ``train_test_split(test_size=0.2, random_state=42)``.

    ``validation="stratified"`` keeps the class proportions; ``"none"`` returns
    ``x, y, None, None``.
    """
    from sklearn.model_selection import train_test_split

    if validation not in VALIDATION_CHOICES:
        raise NnlabError(f"validation must be one of {', '.join(VALIDATION_CHOICES)}; got {validation!r}.")
    if validation == "none":
        return x, y, None, None
    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=val_fraction, random_state=seed,
        stratify=y if validation == "stratified" else None,
    )
    return x_train, y_train, x_val, y_val


def load_splits(data_dir=None, validation="seeds", val_fraction=0.2, split_seed=42, limit=None):
    """The seeds' pipeline: load, scale to float32 0..1, split off validation.

    ``limit`` keeps the first ``limit`` samples of each split (for quick runs).
    """
    ((x, y), (x_test, y_test)), source = locate(data_dir)
    # Split the uint8 images, then scale: same values as the seeds' scale-then-split, 4x less copying.
    x_train, y_train, x_val, y_val = split_train_val(x, y, validation, val_fraction, split_seed)
    if limit is not None:
        if limit < 1:
            raise NnlabError(f"--limit must be an integer >= 1, got {limit}.")
        x_train, y_train, x_test, y_test = x_train[:limit], y_train[:limit], x_test[:limit], y_test[:limit]
        if x_val is not None:
            x_val, y_val = x_val[:limit], y_val[:limit]
    x_val = None if x_val is None else scale(x_val)
    return Splits(scale(x_train), y_train, x_val, y_val, scale(x_test), y_test, source)
