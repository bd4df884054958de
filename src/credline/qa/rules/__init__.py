"""The batch QA rules, one module per rule or family. Each is pure: rows in, violations out."""
