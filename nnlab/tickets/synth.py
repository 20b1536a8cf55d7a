"""Synthetic support tickets: four departments, urgency-driven priority, three difficulty levels.

These are made-up data for trying the system and for the tests and benchmarks; real use
means your own ticket file. They are meant to be realistic enough to be not trivial:
varied templates and vocabulary per department with words shared between departments,
some titles that point to the wrong department, second problems of another department,
4% of labels routed to another department (as in real ticket histories), typos, filler,
1-4 tags of which some mislead, priority from urgency cues plus noise, difficulty from
complexity cues plus noise.

    nnlab tickets make-data --n 20000 --out tickets.csv --seed 0

    >>> from nnlab.tickets.synth import generate
    >>> rows = generate(3, seed=0)
    >>> sorted(rows[0])
    ['body', 'department', 'difficulty', 'priority', 'tags', 'title']
"""

import csv
import json
from pathlib import Path

import numpy as np

from nnlab.core.errors import NnlabError
from nnlab.core.runs import atomic_path

DEPARTMENTS = ("billing", "technical", "account", "shipping")
DIFFICULTIES = ("easy", "medium", "hard")

FILL = {
    "product": ["headphones", "laptop stand", "coffee grinder", "running shoes", "phone case", "desk lamp",
                "backpack", "smart watch", "blender", "monitor", "keyboard", "yoga mat", "gift card", "jacket"],
    "device": ["iPhone", "Android phone", "iPad", "Windows laptop", "MacBook", "Chromebook", "smart TV"],
    "carrier": ["UPS", "FedEx", "DHL", "USPS", "the courier", "the local post"],
    "feature": ["checkout", "search", "wishlist", "order history", "the mobile app", "notifications",
                "the dashboard", "file upload", "the cart", "reports", "the API", "sync"],
    "error": ["error 500", "a blank page", "error code E42", "a timeout", "'something went wrong'",
              "a spinning wheel", "error 403", "a crash"],
    "days": ["two", "three", "five", "seven", "ten"],
    "plan": ["premium", "basic", "family", "business", "annual", "monthly"],
}

TEMPLATES = {
    "billing": {
        "title": ["Charged twice for order {order}", "Refund not received", "Wrong amount on my invoice",
                  "Question about my bill", "Cancel my {plan} subscription and refund", "Payment declined",
                  "Unexpected charge of {amount}", "Invoice {order} is incorrect", "Need a receipt for {amount}",
                  "Promo code not applied", "Billed after cancelling", "Double payment on my card"],
        "body": ["My card was charged {amount} twice for order {order}.",
                 "I returned the {product} {days} weeks ago and still have no refund.",
                 "The invoice shows {amount} but the price at checkout was lower.",
                 "Please cancel the {plan} plan and refund the last payment.",
                 "My credit card payment keeps getting declined although the card works elsewhere.",
                 "There is a charge of {amount} on my statement that I do not recognise.",
                 "The discount code was not applied, so I paid full price.",
                 "I need a VAT invoice for my company for order {order}.",
                 "I was billed for the {plan} subscription after I cancelled it.",
                 "Can you explain the extra fee on my bill?"],
    },
    "technical": {
        "title": ["App crashes when I open {feature}", "{feature} not working", "Error when saving settings",
                  "Website shows {error}", "Cannot upload files", "Bug in {feature}", "Page keeps loading",
                  "Sync fails on {device}", "Notifications stopped working", "App is very slow",
                  "{feature} broken after update", "Crash on startup"],
        "body": ["Every time I open {feature} on my {device} the app crashes.",
                 "Since the last update {feature} shows {error}.",
                 "I click save and get {error}, nothing is stored.",
                 "The page loads forever and then shows {error}.",
                 "I reinstalled the app on my {device} but {feature} still fails.",
                 "Steps: open {feature}, tap the button, the screen freezes.",
                 "Uploading a file over 5 MB fails with {error}.",
                 "The API returns {error} for every request since this morning.",
                 "Data does not sync between my {device} and the website.",
                 "I cleared the cache and cookies, the bug is still there."],
    },
    "account": {
        "title": ["Cannot log in", "Password reset email never arrives", "Change the email on my account",
                  "Account locked", "Delete my account", "Two-factor code not working", "Update my profile",
                  "Someone accessed my account", "Merge two accounts", "Username change",
                  "Login fails on {device}", "Verify my account"],
        "body": ["I cannot log in, it says my password is wrong although I just reset it.",
                 "The password reset email never arrives, I checked the spam folder.",
                 "Please change the email address on my account to my new one.",
                 "My account was locked after too many attempts.",
                 "Please delete my account and all my personal data.",
                 "The two-factor code from the authenticator app is always rejected.",
                 "I got an email about a login from another country, was my account hacked?",
                 "I have two accounts and would like to merge them into one.",
                 "How do I change my username and profile picture?",
                 "The verification link in the sign up email has expired."],
    },
    "shipping": {
        "title": ["Where is my order {order}?", "Package not delivered", "Tracking not updating",
                  "Wrong item received", "Order arrived damaged", "Change delivery address",
                  "Delivery is late", "{carrier} lost my package", "Missing item in order {order}",
                  "Return label for {product}", "Package marked delivered but not here", "Shipping to another country"],
        "body": ["My order {order} was supposed to arrive {days} days ago.",
                 "Tracking for the {product} has not updated since it left the warehouse.",
                 "I received a {product} that I did not order.",
                 "The box arrived crushed and the {product} inside is broken.",
                 "Can you send order {order} to a different address?",
                 "{carrier} says the package was delivered but nothing is at my door.",
                 "One item is missing from order {order}, only the {product} came.",
                 "I need a return label to send the {product} back.",
                 "The parcel is stuck in customs for {days} days.",
                 "How long does shipping take with {carrier}?"],
    },
}

# Shared between departments: order numbers, products and devices appear everywhere.
CROSS_SENTENCES = ["I ordered the {product} last week.", "I use the {device}.", "This is about order {order}.",
                   "My account email is the same as always.", "I paid with my card."]
FILLER = ["Hi,", "Hello team,", "Thanks in advance.", "Please help.", "Regards", "Sent from my phone",
          "Thank you!", "I have been a customer for years.", "Any update would be appreciated.", "Best,"]

# Urgency cues raise the priority: (words in the text, weight).
URGENT = [("URGENT!", 0.30), ("Please fix this asap.", 0.22), ("I need this immediately.", 0.22),
          ("It has to work right now.", 0.18), ("This is the third time I write.", 0.15),
          ("I will cancel if this is not fixed.", 0.15), ("We are losing money.", 0.25),
          ("It affects all our users.", 0.25), ("This looks like fraud.", 0.30), ("I need it today.", 0.10),
          ("We have a deadline tomorrow.", 0.15)]
CALM = [("No rush.", -0.12), ("Whenever you have time.", -0.12), ("Just a question.", -0.10),
        ("Not urgent.", -0.15)]
BASE_PRIORITY = {"billing": 0.35, "technical": 0.40, "account": 0.30, "shipping": 0.30}

# Complexity cues raise the difficulty.
HARD = ["It only happens sometimes.", "The problem is intermittent.", "It happens on several devices.",
        "It started after the latest update.", "It affects multiple orders.", "This has been going on for months.",
        "Our whole team is affected.", "We see it when using the API."]
EASY = ["Simple question:", "Quick one:", "Probably easy:"]

TAGS = {
    "billing": ["billing", "refund", "invoice", "payment", "subscription", "charge"],
    "technical": ["bug", "crash", "error", "performance", "api", "mobile-app", "website"],
    "account": ["login", "password", "2fa", "profile", "security", "gdpr"],
    "shipping": ["delivery", "tracking", "return", "damaged", "customs", "address"],
}
GENERAL_TAGS = ["urgent", "vip", "new-customer", "follow-up", "email", "chat", "phone", "web", "mobile",
                "complaint", "question", "feedback", "eu", "us", "b2b", "escalated"]


def _typos(text, rng, rate):
    """Swap or drop a letter in a few words, as people type."""
    words = text.split(" ")
    for i, word in enumerate(words):
        if len(word) > 3 and word.isalpha() and rng.random() < rate:
            j = int(rng.integers(1, len(word) - 1))
            words[i] = word[:j] + word[j + 1:] if rng.random() < 0.5 else word[:j - 1] + word[j] + word[j - 1] + word[j + 1:]
    return " ".join(words)


def _fill(template, rng):
    out = template
    for key, values in FILL.items():
        while "{" + key + "}" in out:
            out = out.replace("{" + key + "}", str(values[int(rng.integers(len(values)))]), 1)
    out = out.replace("{order}", f"#{int(rng.integers(1000, 99999))}")
    return out.replace("{amount}", f"${rng.integers(5, 500)}.{rng.integers(0, 100):02d}")


def _pick(rng, items):
    return items[int(rng.integers(len(items)))]


def _ticket(rng):
    department = _pick(rng, DEPARTMENTS)
    own = TEMPLATES[department]
    # 6% of titles come from another department (a customer who names the wrong problem first).
    title_from = _pick(rng, DEPARTMENTS) if rng.random() < 0.06 else department
    title = _fill(_pick(rng, TEMPLATES[title_from]["title"]), rng)
    sentences = [_fill(_pick(rng, own["body"]), rng) for _ in range(int(rng.integers(1, 3)))]
    if rng.random() < 0.4:
        sentences.append(_fill(_pick(rng, CROSS_SENTENCES), rng))
    if rng.random() < 0.3:  # a second, smaller problem that belongs to another department
        other = _pick(rng, [d for d in DEPARTMENTS if d != department])
        sentences.append("Also: " + _fill(_pick(rng, TEMPLATES[other]["body"]), rng))
    # Urgency and complexity cues.
    priority = BASE_PRIORITY[department]
    for words, weight in URGENT:
        if rng.random() < 0.07:
            sentences.append(words)
            priority += weight
    for words, weight in CALM:
        if rng.random() < 0.05:
            sentences.append(words)
            priority += weight
    difficulty_score = {"technical": 0.8, "account": 0.3, "billing": 0.4, "shipping": 0.3}[department]
    for words in HARD:
        if rng.random() < 0.06:
            sentences.append(words)
            difficulty_score += 0.6
    rng.shuffle(sentences)
    for words in EASY:
        if rng.random() < 0.06:
            sentences.insert(0, words)
            difficulty_score -= 0.5
    if rng.random() < 0.5:
        sentences.insert(0, _pick(rng, FILLER))
    if rng.random() < 0.4:
        sentences.append(_pick(rng, FILLER))
    body = _typos(" ".join(sentences), rng, 0.03)
    title = _typos(title, rng, 0.02)
    # Tags: 1-4; own department's, general ones, and 10% of tickets get one from another department.
    tags = [_pick(rng, TAGS[department])]
    for _ in range(int(rng.integers(0, 3))):
        tags.append(_pick(rng, GENERAL_TAGS) if rng.random() < 0.6 else _pick(rng, TAGS[department]))
    if rng.random() < 0.10:
        tags.append(_pick(rng, TAGS[_pick(rng, [d for d in DEPARTMENTS if d != department])]))
    if priority > 0.6 and rng.random() < 0.5:
        tags.append("urgent")
    tags = list(dict.fromkeys(tags))[:4]
    priority = float(np.clip(priority + rng.normal(0, 0.05), 0, 1))
    difficulty_score += rng.normal(0, 0.25)
    difficulty = DIFFICULTIES[0 if difficulty_score < 0.45 else 1 if difficulty_score < 1.0 else 2]
    if rng.random() < 0.04:  # routed by hand to another department in the history this file comes from
        department = _pick(rng, [d for d in DEPARTMENTS if d != department])
    return {"title": title, "body": body, "tags": tags, "priority": round(priority, 3), "department": department,
            "difficulty": difficulty}


def generate(n, seed=0):
    """``n`` synthetic tickets as dicts (title, body, tags list, priority, department, difficulty)."""
    rng = np.random.default_rng(seed)
    return [_ticket(rng) for _ in range(n)]


def write_tickets(rows, path):
    """Write ticket dicts as ``.csv`` (tags joined with ';') or ``.jsonl`` (tags as a list), atomically."""
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".jsonl"):
        raise NnlabError(f"--out must end in .csv or .jsonl, got {path.name!r}.")
    if not path.resolve().parent.is_dir():
        raise NnlabError(f"folder {path.parent} does not exist; create it first.")
    columns = list(rows[0]) if rows else ["title", "body", "tags", "priority", "department", "difficulty"]
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        if path.suffix.lower() == ".jsonl":
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow({**row, "tags": ";".join(row["tags"])})
    return path
