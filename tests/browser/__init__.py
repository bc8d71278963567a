"""Browser tests (Playwright driving Debian's chromium)."""
