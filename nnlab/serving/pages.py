"""The HTML pages the server shows. Self-contained: inline style and script, no CDN, works offline.

    TICKETS_PAGE   /tickets: try one ticket (below)
    BAG_PAGE       /: the lucky bag, from static/bag.html (package data, see pyproject.toml)
"""

from importlib import resources

BAG_PAGE = resources.files("nnlab.serving").joinpath("static", "bag.html").read_text(encoding="utf-8")

TICKETS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nnlab · ticket triage</title>
<style>
  body { font: 16px/1.45 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #1d232b; }
  h1 { font-size: 1.5rem; margin-bottom: .2rem; }
  p.lead { color: #555; margin-top: 0; }
  label { display: block; font-weight: 600; margin: .9rem 0 .25rem; }
  input, textarea { width: 100%; box-sizing: border-box; font: inherit; padding: .45rem .55rem;
                    border: 1px solid #9aa5b1; border-radius: 6px; }
  textarea { min-height: 7rem; resize: vertical; }
  .hint { color: #667; font-size: .85rem; }
  button { margin-top: 1rem; font: inherit; font-weight: 600; padding: .5rem 1.2rem; border: 0; border-radius: 6px;
           background: #1f5fbf; color: white; cursor: pointer; }
  button:disabled { background: #8aa4cc; }
  #result { margin-top: 1.5rem; }
  .card { border: 1px solid #d5dbe1; border-radius: 8px; padding: 1rem 1.2rem; margin-bottom: 1rem; }
  .big { font-size: 1.35rem; font-weight: 700; }
  .row { display: grid; grid-template-columns: 8rem 1fr 4rem; gap: .6rem; align-items: center; margin: .3rem 0; }
  .bar { height: .8rem; background: #e8edf2; border-radius: 4px; overflow: hidden; }
  .bar > span { display: block; height: 100%; background: #1f5fbf; }
  .top .bar > span { background: #16803c; }
  .error { border-color: #c62828; background: #fdecea; color: #8e1c1c; white-space: pre-line; }
  .num { text-align: right; font-variant-numeric: tabular-nums; }
</style>
</head>
<body>
<h1>Ticket triage</h1>
<p class="lead">Type a support ticket: the model guesses its priority (0 = can wait, 1 = urgent) and the
department that should handle it.</p>
<form id="ticket">
  <label for="title">Title</label>
  <input id="title" name="title" maxlength="2000" placeholder="Charged twice for order #4821">
  <label for="body">Body</label>
  <textarea id="body" name="body" maxlength="50000" placeholder="My card was charged twice. Please refund asap."></textarea>
  <label for="tags">Tags</label>
  <input id="tags" name="tags" placeholder="billing, urgent">
  <div class="hint">Separate tags with commas. Title or body may be empty, not both.</div>
  <button id="send" type="submit">Triage</button>
</form>
<div id="result" aria-live="polite"></div>
<script>
const form = document.getElementById("ticket");
const result = document.getElementById("result");
function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}
function bars(title, label, probabilities) {
  const card = el("div", "card");
  card.append(el("div", "", title), el("div", "big", label));
  for (const [name, p] of Object.entries(probabilities).sort((a, b) => b[1] - a[1])) {
    const row = el("div", name === label ? "row top" : "row");
    const bar = el("div", "bar"), fill = el("span");
    fill.style.width = (100 * p).toFixed(1) + "%";
    bar.append(fill);
    row.append(el("span", "", name), bar, el("span", "num", (100 * p).toFixed(1) + "%"));
    card.append(row);
  }
  return card;
}
function show(data) {
  result.replaceChildren();
  const card = el("div", "card");
  const row = el("div", "row top"), bar = el("div", "bar"), fill = el("span");
  fill.style.width = (100 * data.priority).toFixed(1) + "%";
  bar.append(fill);
  row.append(el("span", "", "priority"), bar, el("span", "num", data.priority.toFixed(2)));
  card.append(el("div", "", "Priority"), el("div", "big", data.priority >= 0.6 ? "high" : data.priority >= 0.35 ? "normal" : "low"), row);
  result.append(card);
  for (const key of Object.keys(data)) {
    if (key.endsWith("_probabilities")) {
      const name = key.slice(0, -"_probabilities".length);
      result.append(bars(name[0].toUpperCase() + name.slice(1), data[name], data[key]));
    }
  }
}
function fail(message) {
  result.replaceChildren(el("div", "card error", message));
}
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = document.getElementById("send");
  const ticket = {
    title: document.getElementById("title").value,
    body: document.getElementById("body").value,
    tags: document.getElementById("tags").value.split(",").map((t) => t.trim()).filter(Boolean),
  };
  button.disabled = true;
  try {
    const response = await fetch("/v1/tickets/triage", {
      method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify(ticket)});
    const data = await response.json();
    if (response.ok) {
      show(data);
    } else {  // the server's error body: {"detail": {"message": ..., "errors": [{"loc": [...], "msg": ...}]}}
      const detail = data.detail || {}, fields = (detail.errors || []).filter((e) => Array.isArray(e.loc));
      fail(fields.length
        ? fields.map((e) => (e.loc.length > 1 ? e.loc.slice(1) : e.loc).join(".") + ": " + e.msg).join("\\n")
        : detail.message || ("error " + response.status));
    }
  } catch (error) {
    fail("the server did not answer: " + error);
  } finally {
    button.disabled = false;
  }
});
</script>
</body>
</html>
"""
