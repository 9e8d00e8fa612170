"""Helpers shared by every test tier (``from support.x import ...``); fixtures go in conftest."""
