#!/usr/bin/env bash
# One-time set-up on a fresh machine: system tools, a virtualenv, Earshot and its engines.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3

# Debian packages: espeak-ng and sox (sample corpus, audio fixtures), chromium (browser
# tests), poppler-utils (PDF checks), pango (WeasyPrint PDF exports).
need_apt=()
command -v espeak-ng >/dev/null || need_apt+=(espeak-ng)
command -v sox >/dev/null || need_apt+=(sox)
command -v chromium >/dev/null || need_apt+=(chromium)
command -v pdftoppm >/dev/null || need_apt+=(poppler-utils)
ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0 || need_apt+=(libpango-1.0-0 libpangoft2-1.0-0)
# pyicu (needed by followthemoney) builds from source against ICU.
dpkg -s libicu-dev >/dev/null 2>&1 || need_apt+=(libicu-dev)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
# openssl: the stand-in RFC 3161 time-stamp authority in tests/security/test_anchoring.py.
command -v openssl >/dev/null || need_apt+=(openssl)
# libarchive (.7z/.rar/.tar.* call material, via libarchive-c) and Chromaprint's fpcalc
# (near-duplicate recordings in another codec).
ldconfig -p 2>/dev/null | grep -q 'libarchive\.so' || need_apt+=(libarchive13)
command -v fpcalc >/dev/null || need_apt+=(libchromaprint-tools)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${need_apt[*]} with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup: please install ${need_apt[*]} (sudo apt-get install ${need_apt[*]})" >&2
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.earshot-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  "$VENV/bin/pip" install -q --disable-pip-version-check --upgrade pip 'setuptools<80' wheel
  # The CPU build of torch is the only one wanted here (speech engines); pin it first so
  # nothing else pulls a multi-GB CUDA build.
  "$VENV/bin/pip" install -q --disable-pip-version-check 'torch==2.13.0'
  "$VENV/bin/pip" install -q --disable-pip-version-check -e '.[all,test]'
  touch "$stamp"
fi
