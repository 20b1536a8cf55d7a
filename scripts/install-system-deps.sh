#!/usr/bin/env bash
# Install what nnlab needs from Debian: the Fashion-MNIST data, Graphviz (for plot-model and model.png)
# and Chromium (the browser test of the ticket page drives it with Playwright).
# Run as root it installs them with apt-get; otherwise it says what to run.
set -euo pipefail
packages=(dataset-fashion-mnist graphviz chromium)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${missing[*]} with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
elif [ -d /usr/share/datasets/fashion-mnist ] || [ -n "${NNLAB_DATA_DIR:-}" ] || [ -d "$HOME/.keras/datasets/fashion-mnist" ]; then
  echo "note: ${missing[*]} not installed; the data is present, but for everything run: sudo apt-get install -y ${missing[*]}"
else
  echo "error: Fashion-MNIST is missing. Run: sudo apt-get install -y ${missing[*]}" >&2
  echo "       (or put the four IDX files in a folder and set NNLAB_DATA_DIR=FOLDER)" >&2
  exit 1
fi
