"""Test-wide settings. Importing bpy writes into the user's Blender config unless BLENDER_USER_RESOURCES points
elsewhere, so it is set to a throw-away folder before any test module can import bpy."""

import os
import tempfile

os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="mm-blender-user-"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never touch the network
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
