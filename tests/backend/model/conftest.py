import pytest


@pytest.fixture(autouse=True)
def _tiny_models_use_one_thread(one_torch_thread):
    """Model tests run the tiny `test` preset: see tests/backend/conftest.py."""
