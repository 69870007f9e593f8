"""Model tests share the FK clip builders of tests/backend/motion_fixtures.py."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
