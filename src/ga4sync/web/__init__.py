"""The HTTP API (aiohttp): thin handlers over the sync service."""
