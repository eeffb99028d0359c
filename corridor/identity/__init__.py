"""Identity: organisations, users, roles, passwords (argon2), API tokens and browser sessions."""
