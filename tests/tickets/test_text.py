"""nnlab.tickets.text: HTML bodies to text (entities, tags, signatures), tags in every usual form."""

import html

import pytest
from hypothesis import given, strategies as st

from nnlab.tickets.text import clean_text, split_tags

# Text a customer types: letters with accents, emoji, digits, punctuation, line breaks.
TYPED = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "Zs", "So"), exclude_characters="<>&"),
                max_size=80)


@pytest.mark.parametrize("body, text", [
    ("<p>Hi team,</p><p>My card was charged&nbsp;twice &amp; I want a refund.</p>"
     "<p>Kind regards,<br><b>Anna Müller</b><br>Sent from my iPhone</p>",
     "Hi team, My card was charged twice & I want a refund. Kind regards, Anna Müller Sent from my iPhone"),
    ("Line one<br>line two<br/>line&#39;s three &#x1F600;", "Line one line two line's three 😀"),
    ("<html><head><style>p {color: red}</style><title>mail</title></head><body><div dir='ltr'>Router dead"
     "</div><script>track()</script></body></html>", "Router dead"),
    ("<blockquote>&gt; On Monday Support wrote: we are on it</blockquote>Still broken", "> On Monday Support wrote: "
     "we are on it Still broken"),
    ("price < 5 EUR and 3 > 2", "price < 5 EUR and 3 > 2"),  # no markup: left as typed
    ("  café ☕\n\n déjà   vu ", "café ☕ déjà vu"),
    ("<p>unclosed paragraph", "unclosed paragraph"),
])
def test_html_bodies_become_their_text(body, text):
    assert clean_text(body) == text


@given(TYPED, st.sampled_from(["p", "div", "span", "b", "td"]))
def test_escaped_text_in_tags_comes_back_as_typed(text, tag):
    """Whatever a customer typed, once escaped into HTML by a helpdesk, reads back as typed (spaces joined)."""
    escaped = html.escape(text).replace("\n", "<br>")
    assert clean_text(f"<{tag} class='x'>{escaped}</{tag}><br>") == " ".join(text.split())


@given(TYPED)
def test_plain_text_is_only_trimmed(text):
    assert clean_text(text) == " ".join(text.split())


@pytest.mark.parametrize("value, tags", [
    ("billing; refund ;", ["billing", "refund"]),
    ("billing, refund,urgent", ["billing", "refund", "urgent"]),
    ('["card payment", "vip"]', ["card payment", "vip"]),
    (["  a ", "", "b"], ["a", "b"]),
    ("", []),
    ("café, 🚚", ["café", "🚚"]),
    ('["a", ', ['["a"']), ("[1, 2]", ["[1", "2]"]),  # not a list of strings: read as text
])
def test_tags_in_every_usual_form(value, tags):
    assert split_tags(value) == tags


@pytest.mark.parametrize("value, message", [(3, "list of strings"), (["a", 1], "list of strings"), (None, "list")])
def test_tags_that_are_not_tags_are_refused(value, message):
    with pytest.raises(ValueError, match=message):
        split_tags(value)
