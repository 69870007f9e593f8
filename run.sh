#!/usr/bin/env bash
# One entry point for a fresh machine: sets up .venv when missing or stale, then runs the job.
#   ./run.sh demo [args]   the main end-to-end job
#   ./run.sh test [args]   the whole test suite (what CI runs)
set -euo pipefail
cd "$(dirname "$0")"

setup() {
    [ -x .venv/bin/python ] || python3 -m venv .venv
    # Reinstall only when the dependency files changed: the stamp is their hash.
    local stamp=".venv/.motion-mamba-$(cat pyproject.toml requirements/cpu.txt | sha256sum | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        .venv/bin/python -m pip install -q --upgrade pip
        .venv/bin/python -m pip install -q -c requirements/cpu.txt -e ".[test]"
        rm -f .venv/.motion-mamba-* && touch "$stamp"
    fi
}

cmd="${1:-}"; shift || true
case "$cmd" in
    demo)
        setup
        .venv/bin/motion-mamba demo --out out/demo "$@"
        exec .venv/bin/python scripts/blender_demo.py out/demo ;;
    test) setup; exec .venv/bin/python -m pytest -q "$@" ;;
    *) echo "usage: ./run.sh demo|test [args]" >&2; exit 2 ;;
esac
