"""Tickets -> the seeds' multi-hot arrays, with Keras' TextVectorization and StringLookup.

One ``TextVectorization`` (multi-hot over ``vocabulary_size`` words, the first slot for
unknown words) is adapted on the training split's titles and bodies and encodes both;
a ``StringLookup`` over the training split's ``num_tags - 1`` most frequent tags (plus
the unknown-tag slot) encodes the tags. Both are padded to their full width, so the
arrays are (n, 10000), (n, 10000) and (n, 100) whatever the data, as the seeds' inputs.

    >>> from nnlab.tickets.features import Vectorizer
    >>> vectorizer = Vectorizer.adapt(train_tickets, vocabulary_size=10_000, num_tags=100)
    >>> x = vectorizer.transform(tickets)          # {"title": uint8 (n, 10000), "text_body": ..., "tags": (n, 100)}

The served model (``nnlab.tickets.models.TicketTriage``) holds the same two layers, so
it takes raw strings and gives what the numeric model gives on these arrays.

Keras 3 runs these two layers with TensorFlow's string ops (on any backend, outside the
JAX graph): ``tensorflow-cpu`` is a dependency for this reason only.
"""

import collections
import dataclasses

import keras
import numpy as np

UNKNOWN = "[UNK]"
CHUNK = 2048  # tickets vectorized per call: bounds TensorFlow's dense (CHUNK, vocabulary) intermediate


def word_layer(vocabulary_size, vocabulary=None, name="words"):
    """``TextVectorization``: lower-case, strip punctuation, split on spaces, multi-hot of width ``vocabulary_size``."""
    return keras.layers.TextVectorization(max_tokens=vocabulary_size, output_mode="multi_hot",
                                          pad_to_max_tokens=True, vocabulary=vocabulary, name=name)


def tag_layer(num_tags, vocabulary, name="tag_lookup"):
    """``StringLookup`` of tags, multi-hot of width ``num_tags``; '' pads ragged tag lists and is ignored."""
    return keras.layers.StringLookup(max_tokens=num_tags, output_mode="multi_hot", pad_to_max_tokens=True,
                                     mask_token="", vocabulary=list(vocabulary), name=name)


def pad_tags(tag_lists, width=None):
    """Lists of tags -> a (n, width) string array padded with '' (StringLookup ignores '')."""
    width = max([1, width or 0, *(len(tags) for tags in tag_lists)])
    out = np.full((len(tag_lists), width), "", dtype=object)
    for row, tags in enumerate(tag_lists):
        out[row, :len(tags)] = tags
    return out.astype(str)


def top_tags(tag_lists, count):
    """The ``count`` most frequent tags (ties: alphabetical), most frequent first."""
    counts = collections.Counter(tag for tags in tag_lists for tag in tags)
    return [tag for tag, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:count]]


@dataclasses.dataclass
class Vectorizer:
    """The word and tag vocabularies of a run and the two Keras layers built from them."""

    words: list  # without the unknown-word slot, most frequent first
    tags: list
    vocabulary_size: int = 10_000
    num_tags: int = 100

    @classmethod
    def adapt(cls, tickets, vocabulary_size=10_000, num_tags=100):
        """Learn the vocabularies from ``tickets`` (the training split only)."""
        layer = keras.layers.TextVectorization(max_tokens=vocabulary_size, output_mode="multi_hot",
                                               pad_to_max_tokens=True)
        layer.adapt(np.asarray(list(tickets.title) + list(tickets.body), dtype=str), batch_size=CHUNK)
        words = [str(word) for word in layer.get_vocabulary(include_special_tokens=False)]
        return cls(words, top_tags(tickets.tags, num_tags - 1), vocabulary_size, num_tags)

    @classmethod
    def from_dict(cls, values):
        return cls(**values)

    def to_dict(self):
        return dataclasses.asdict(self)

    def layers(self):
        """Fresh ``(TextVectorization, StringLookup)`` with these vocabularies."""
        return word_layer(self.vocabulary_size, self.words), tag_layer(self.num_tags, self.tags)

    def transform(self, tickets, chunk=CHUNK):
        """``{"title", "text_body", "tags"}`` uint8 multi-hot arrays of ``tickets`` (0/1; the model casts to float)."""
        words, lookup = self.layers()
        out = {"title": [], "text_body": [], "tags": []}
        for start in range(0, len(tickets), chunk):
            stop = min(start + chunk, len(tickets))
            out["title"].append(np.asarray(words(np.asarray(tickets.title[start:stop], dtype=str)), dtype="uint8"))
            out["text_body"].append(np.asarray(words(np.asarray(tickets.body[start:stop], dtype=str)), dtype="uint8"))
            out["tags"].append(np.asarray(lookup(pad_tags(tickets.tags[start:stop])), dtype="uint8"))
        width = {"title": self.vocabulary_size, "text_body": self.vocabulary_size, "tags": self.num_tags}
        return {name: np.concatenate(parts) if parts else np.zeros((0, width[name]), "uint8")
                for name, parts in out.items()}
