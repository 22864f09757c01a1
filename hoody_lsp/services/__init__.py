"""Stateful services over time (asyncio, no pygls): backend health, inline completions, commands."""
