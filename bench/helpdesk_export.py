"""A second ticket generator, written apart from nnlab.tickets.synth: a helpdesk's CSV export.

What it varies from nnlab's own generator: other vocabulary (an internet and telephone
provider), six departments whose names have spaces and ``&`` ("Billing & Payments"),
priority as ordered words (Low / Normal / High / Urgent, from a latent urgency that
also depends on the customer's tier), bodies in HTML with greetings, quoted replies and
signatures, tags as ``"a, b"`` in one cell, the export's own column names (Subject,
Description, Tags, Priority, Group) and columns nnlab must ignore (Ticket ID, Status,
Created, Channel, Requester).

    .venv/bin/python bench/helpdesk_export.py --n 4000 --out export.csv --seed 7
    nnlab tickets train export.csv \\
        --columns title=Subject,body=Description,tags=Tags,priority=Priority,department=Group \\
        --priority-levels Low,Normal,High,Urgent

It is made-up data, for checking that claims about nnlab hold beyond its own generator.
"""

import argparse
import csv
import datetime
import random
from pathlib import Path

COLUMNS = ("Ticket ID", "Created", "Subject", "Description", "Tags", "Priority", "Group", "Status", "Channel",
           "Requester")
MAPPING = "title=Subject,body=Description,tags=Tags,priority=Priority,department=Group"
LEVELS = ("Low", "Normal", "High", "Urgent")

# Per group: subject lines, problem sentences (plain text, HTML added later), tags. {x} slots are filled from SLOTS.
GROUPS = {
    "Billing & Payments": {
        "subjects": ["Direct debit failed", "Question on last statement", "Overcharged this month",
                     "Refund for {addon}", "Late fee on account", "Change payment card", "Bill higher than quote"],
        "problems": ["My statement for {month} shows {money} more than my contract says.",
                     "The direct debit bounced although my bank account has funds.",
                     "You charged me for {addon} which I never ordered.",
                     "Please explain the late payment fee of {money}.",
                     "I want to pay by a different card from next month.",
                     "The quote said {money} per month but the bill is higher."],
        "tags": ["invoice", "direct-debit", "refund", "charges", "payment"],
    },
    "Network Operations": {
        "subjects": ["No internet since {time}", "Broadband drops every evening", "Slow speeds on fibre",
                     "Outage in {town}?", "Router lights blinking red", "Packet loss on line"],
        "problems": ["The connection drops every few minutes, the router shows a red light.",
                     "Speed tests show {speed} Mbps instead of the {plan} I pay for.",
                     "Whole street in {town} has no signal since {time}.",
                     "Latency spikes make video calls impossible after 6pm.",
                     "Fibre line is down again, third time this week.",
                     "The line has heavy packet loss, pings time out."],
        "tags": ["outage", "broadband", "fibre", "speed", "router"],
    },
    "Hardware Repairs": {
        "subjects": ["Router will not power on", "Replacement modem needed", "TV box overheating",
                     "Broken power supply", "Set-top box remote dead", "Engineer visit for faulty socket"],
        "problems": ["The {device} does not switch on any more, no lights at all.",
                     "My {device} gets very hot and restarts itself.",
                     "The power adapter of the {device} is cracked.",
                     "Can you send a replacement {device}? Mine is faulty.",
                     "The wall socket the engineer installed is loose.",
                     "The {device} makes a clicking noise and then shuts down."],
        "tags": ["hardware", "replacement", "device", "engineer-visit", "faulty"],
    },
    "Orders & Delivery": {
        "subjects": ["Where is my {device}?", "Order not arrived", "Wrong item delivered",
                     "Change delivery address", "Courier missed me", "Installation date for new order"],
        "problems": ["I ordered a {device} on {month} {day} and it has not arrived.",
                     "The courier left a card but I was home all day.",
                     "The parcel had a {wrong} instead of the {device}.",
                     "Please deliver to my office address instead.",
                     "Tracking has said 'in transit' for {days} days.",
                     "When will the installation of my new {plan} line be booked?"],
        "tags": ["delivery", "order", "courier", "tracking", "installation"],
    },
    "Security & Access": {
        "subjects": ["Locked out of my account", "Suspicious login alert", "Reset my PIN",
                     "SIM swap I did not request", "Two-step code not arriving", "Phishing email in your name"],
        "problems": ["I cannot log in to the customer portal, it says my account is locked.",
                     "I got an alert about a login from {town} that was not me.",
                     "Someone moved my number to a new SIM without asking me.",
                     "The verification text never arrives on my phone.",
                     "I received an email asking for my password that looks like it is from you.",
                     "Please reset the security PIN on the account."],
        "tags": ["login", "security", "fraud", "password", "2fa"],
    },
    "Customer Success": {
        "subjects": ["Thinking of leaving", "Upgrade to {plan}", "Contract end date", "Moving house soon",
                     "Feedback on your service", "Add a second line"],
        "problems": ["My contract ends in {month}; what offers do you have for loyal customers?",
                     "I would like to upgrade to the {plan} package.",
                     "We move to {town} next month, can the service move with us?",
                     "I want to add a second mobile line to my plan.",
                     "Your competitor offers more for less, convince me to stay.",
                     "Just wanted to say the last engineer was great."],
        "tags": ["retention", "upgrade", "contract", "moving", "feedback"],
    },
}
SLOTS = {
    "addon": ["Sports Pack", "Movie Bundle", "international calls", "cloud backup", "static IP"],
    "month": ["January", "March", "May", "August", "October", "December"],
    "money": ["£12.50", "£30", "£7.99", "£54.20", "€18", "€65"],
    "time": ["yesterday", "this morning", "Monday", "last night", "2 days"],
    "town": ["Leeds", "Bristol", "Málaga", "Zürich", "Cork", "Gdańsk", "Lyon"],
    "speed": ["3", "12", "40", "0.5"],
    "plan": ["Fibre 500", "Fibre 1000", "Basic 80", "Gigabit Pro", "Family Max"],
    "device": ["router", "TV box", "mesh extender", "modem", "landline handset", "smart hub"],
    "wrong": ["phone case", "HDMI cable", "leaflet", "different router"],
    "day": ["3rd", "11th", "19th", "27th"],
    "days": ["4", "6", "9", "12"],
}
URGENT_CUES = [("I work from home and cannot work at all.", 1.0), ("This is the third time I am writing!!", 0.7),
               ("My elderly mother relies on this line for her alarm.", 1.3), ("Please treat as urgent.", 0.8),
               ("We run a shop and card payments are down.", 1.2), ("I will cancel if this is not fixed today.", 0.6)]
CALM_CUES = [("No rush on this.", -0.9), ("Whenever you have time.", -0.8), ("Just for my records.", -0.6)]
GROUP_URGENCY = {"Billing & Payments": 0.0, "Network Operations": 1.0, "Hardware Repairs": 0.5,
                 "Orders & Delivery": 0.2, "Security & Access": 1.1, "Customer Success": -0.6}
TIERS = [("vip", 0.8), ("business", 0.5), ("residential", 0.0), ("student", -0.2)]
GREETINGS = ["Hi team,", "Hello,", "Dear Sir or Madam,", "Hey there,", "Good morning,", "Hola,", "Hi 👋,"]
SIGNATURES = ["Kind regards,<br>{name}", "Thanks,<br><b>{name}</b><br>Sent from my iPhone",
              "Best,<br>{name}<br><i>{name} &amp; family</i>", "Cheers<br>-- <br>{name} | Tel. 0161 496 0000",
              "Merci d&#39;avance,<br>{name}"]
NAMES = ["Anna Müller", "Tom O'Brien", "Priya Shah", "José Núñez", "Li Wei", "Sam Taylor", "Zoë Clarke"]
QUOTES = ["<blockquote>On {month} {day} Support wrote: Thank you for contacting us, your case is open.</blockquote>",
          "<div class=\"gmail_quote\">&gt; We are sorry for the trouble &gt; Support team</div>"]
STATUSES = ["Open", "Pending", "Solved", "Closed"]
CHANNELS = ["Email", "Web form", "Chat", "Phone"]


def _fill(text, rng):
    for key, values in SLOTS.items():
        while "{" + key + "}" in text:
            text = text.replace("{" + key + "}", rng.choice(values), 1)
    return text


def _html_body(sentences, rng):
    """Sentences -> an HTML email: a greeting, paragraphs, sometimes a quoted reply, a signature."""
    name = rng.choice(NAMES)
    parts = [f"<p>{rng.choice(GREETINGS)}</p>"]
    for sentence in sentences:
        sentence = sentence.replace("&", "&amp;").replace("'", "&#39;")
        parts.append(f"<p>{sentence}</p>" if rng.random() < 0.7 else f"{sentence}<br>")
    parts.append(f"<p>{rng.choice(SIGNATURES).format(name=name)}</p>")
    if rng.random() < 0.25:
        parts.append(_fill(rng.choice(QUOTES), rng))
    html = "".join(parts)
    return html if rng.random() < 0.9 else f"<html><body><div dir=\"ltr\">{html}</div></body></html>"


def ticket(index, rng):
    """One export row (a dict keyed by COLUMNS)."""
    group = rng.choice(list(GROUPS))
    spec = GROUPS[group]
    subject = _fill(rng.choice(spec["subjects"]), rng)
    if rng.random() < 0.05:  # subject written about another group's problem
        subject = _fill(rng.choice(GROUPS[rng.choice(list(GROUPS))]["subjects"]), rng)
    sentences = [_fill(rng.choice(spec["problems"]), rng) for _ in range(rng.randint(1, 2))]
    if rng.random() < 0.25:  # a side remark that belongs to another group
        other = rng.choice([g for g in GROUPS if g != group])
        sentences.append("Also, " + _fill(rng.choice(GROUPS[other]["problems"]), rng).lower())
    tier, tier_weight = rng.choice(TIERS)
    urgency = GROUP_URGENCY[group] + tier_weight + rng.gauss(0, 0.45)
    for cue, weight in URGENT_CUES:
        if rng.random() < 0.08:
            sentences.append(cue)
            urgency += weight
    for cue, weight in CALM_CUES:
        if rng.random() < 0.08:
            sentences.append(cue)
            urgency += weight
    rng.shuffle(sentences)
    level = LEVELS[0 if urgency < 0.0 else 1 if urgency < 0.9 else 2 if urgency < 1.8 else 3]
    tags = [rng.choice(spec["tags"]), tier] + ([rng.choice(spec["tags"])] if rng.random() < 0.5 else [])
    if rng.random() < 0.08:
        tags.append(rng.choice(GROUPS[rng.choice(list(GROUPS))]["tags"]))
    if rng.random() < 0.03:  # reassigned by an agent in the history this export comes from
        group = rng.choice(list(GROUPS))
    created = datetime.datetime(2026, 1, 1) + datetime.timedelta(minutes=rng.randint(0, 500_000))
    return {"Ticket ID": f"HD-{100000 + index}", "Created": created.isoformat(sep=" "), "Subject": subject,
            "Description": _html_body(sentences, rng), "Tags": ", ".join(dict.fromkeys(tags)),
            "Priority": level if rng.random() < 0.9 else level.upper() if rng.random() < 0.5 else level.lower(),
            "Group": group, "Status": rng.choice(STATUSES), "Channel": rng.choice(CHANNELS),
            "Requester": rng.choice(NAMES)}


def generate(n, seed=0):
    rng = random.Random(seed)
    return [ticket(i, rng) for i in range(n)]


def write_export(rows, path):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return Path(path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--out", default="export.csv")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    write_export(generate(args.n, args.seed), args.out)
    print(f"wrote {args.n:,} export-shaped tickets to {args.out} (seed {args.seed}); read it with\n"
          f"  nnlab tickets train {args.out} --columns {MAPPING} --priority-levels {','.join(LEVELS)}")
