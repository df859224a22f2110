"""The admin client in a real browser (fixtures in conftest.py, helpers in helpers.py)."""
