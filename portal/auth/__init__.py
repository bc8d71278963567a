"""Sign-in, sessions (JWT cookie and bearer), CSRF and login rate limits."""
