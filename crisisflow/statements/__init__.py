"""Public statements: the fact sheet, the message set, the linter, approvals bound to
one version, and publishing that stops the golden clock."""
