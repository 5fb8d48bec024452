#!/usr/bin/env bash
# Installs the Debian packages the tests need (pdftoppm, chromium, a CJK font) where they are missing.
# Says loudly when it cannot, so a test run never passes quietly without them.
set -u
missing=()
command -v pdftoppm >/dev/null || missing+=(poppler-utils)
command -v chromium >/dev/null || missing+=(chromium)
# The label sheet draws its text as outlines of this font; without it the PDF names fonts the printer must have.
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "== installing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else SUDO=none; fi
if [ "$SUDO" = none ]; then
  echo "!! cannot install ${missing[*]} (not root, no sudo): tests that need them will FAIL" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null 2>&1
if ! $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; then
  echo "!! apt-get install ${missing[*]} failed: tests that need them will FAIL" >&2
fi
exit 0
