"""The GA4 Data API over aiohttp: request building, paging, quota and retries."""
