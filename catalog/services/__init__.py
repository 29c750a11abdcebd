"""Services own the rules: permissions, validation, unit of work, index updates."""
