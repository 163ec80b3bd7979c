#!/usr/bin/env bash
# Install Commhub's desktop entry and icon for the current user.
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
install -Dm644 "$here/resources/desktop/org.commhub.Commhub.desktop" "$data/applications/org.commhub.Commhub.desktop"
install -Dm644 "$here/resources/icons/org.commhub.Commhub.svg" "$data/icons/hicolor/scalable/apps/org.commhub.Commhub.svg"
echo "installed desktop entry into $data"
