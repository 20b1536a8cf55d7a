"""Ticket text as helpdesks write it: HTML bodies reduced to their text, tags given in any usual form.

Used by every way in: ticket files (``nnlab.tickets.data``), ``--json`` on the command
line and ``POST /v1/tickets/triage``, so a model sees the same words however a ticket came.

    >>> from nnlab.tickets.text import clean_text, split_tags
    >>> clean_text("<p>Hi,<br>my card was charged&nbsp;twice &amp; no refund.</p><div>-- Anna</div>")
    'Hi, my card was charged twice & no refund. -- Anna'
    >>> split_tags("billing, refund;urgent"), split_tags('["a b", "c"]'), split_tags(["x ", ""])
    (['billing', 'refund', 'urgent'], ['a b', 'c'], ['x'])

Text without markup is only trimmed and its runs of spaces joined (a ``<`` in plain text,
as in "price < 5 EUR", stays). Unicode (accents, emoji) is kept as it is.
"""

import html
import html.parser
import json
import re

# Markup is assumed when the text has a tag (<p>, </div>, <br/>, <!-- -->) or an entity (&amp; &#39; &#x27;).
_MARKUP = re.compile(r"<[A-Za-z/!][^>]*>|&(#\d+|#x[0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);")
_SPACES = re.compile(r"\s+")
_TAG_SEPARATORS = re.compile(r"[;,]")
_INVISIBLE = ("script", "style", "head", "title")  # their content is not the ticket's text


class _TextCollector(html.parser.HTMLParser):
    """Collects the text of an HTML fragment; every tag is a word break (``a<br>b`` -> ``a b``)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)  # entities decoded in handle_data
        self.parts, self.hidden = [], 0

    def handle_starttag(self, tag, attrs):
        self.hidden += tag in _INVISIBLE
        self.parts.append(" ")

    def handle_endtag(self, tag):
        self.hidden -= tag in _INVISIBLE and self.hidden > 0
        self.parts.append(" ")

    def handle_startendtag(self, tag, attrs):
        self.parts.append(" ")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def clean_text(text):
    """``text`` without HTML tags and entities (tags as spaces), runs of white space as one space, trimmed."""
    if _MARKUP.search(text):
        collector = _TextCollector()
        collector.feed(text)
        collector.close()
        text = html.unescape("".join(collector.parts))  # close() flushes an unfinished "&amp" too
    return _SPACES.sub(" ", text.replace("\xa0", " ")).strip()


def split_tags(value):
    """Tags from a list, a JSON list in a string (``'["a", "b"]'``), or text separated by ``;`` or ``,``.

    Each tag is trimmed (and HTML-cleaned); empty ones are dropped; the order is kept. A
    string that starts like a JSON list but is not a list of strings is read as text.
    Raises ValueError for anything but a string or a list of strings.
    """
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = json.loads(text) if text.startswith("[") else None
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
            value = parsed
        else:
            value = _TAG_SEPARATORS.split(text)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"tags must be a list of strings, or text like 'a; b' or 'a, b'; got {value!r}")
    return [tag for tag in (clean_text(item) for item in value) if tag]
