"""ga4sync: keep Google Analytics 4 reports fresh in your own Postgres."""

__version__ = "0.1.0"
