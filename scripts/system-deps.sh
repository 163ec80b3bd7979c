#!/usr/bin/env bash
# Install the Debian packages the test suite needs (Dovecot, notmuch, Qt offscreen/xcb
# libraries, Xvfb, fonts, a headless Secret Service).
#
# Idempotent: packages already installed are skipped (`dpkg -s`), and `apt-get update`
# runs only when something is missing. Non-interactive; needs root to install anything.
# Usage: bash scripts/system-deps.sh        (called by `make deps` / `make test`)
set -euo pipefail

PACKAGES=(
    # Real mail servers for tests/integration (see tests/support/servers/dovecot.py).
    dovecot-imapd dovecot-lmtpd openssl
    # Search/indexing peer for comparisons.
    notmuch python3-notmuch2
    # Qt: offscreen platform (first seven) + xcb platform under Xvfb.
    libglib2.0-0 libgl1 libegl1 libfontconfig1 libfreetype6 libxkbcommon0 libdbus-1-3
    libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
    libxcb-render-util0 libxcb-render0 libxcb-shape0 libxcb-shm0 libxcb-sync1 libxcb-util1
    libxcb-xfixes0 libxcb-xkb1 libxkbcommon-x11-0
    xvfb xauth imagemagick xdotool
    # libmagic: attachment types from their magic bytes (python-magic).
    libmagic1
    # Fonts: Latin + Chinese/Japanese/Korean.
    fonts-dejavu-core fonts-noto-cjk
    # Headless Secret Service for keyring tests.
    gnome-keyring dbus
)

missing=()
for pkg in "${PACKAGES[@]}"; do
    # `dpkg -s` succeeds for removed-but-configured packages too; check the status line.
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "system-deps: all ${#PACKAGES[@]} packages already installed"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "system-deps: missing Debian packages: ${missing[*]}" >&2
    echo "system-deps: not root, cannot install them. Run as root:" >&2
    echo "  sudo bash scripts/system-deps.sh" >&2
    echo "or install by hand:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

echo "system-deps: installing ${#missing[@]} package(s): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
echo "system-deps: done"
