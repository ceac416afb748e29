"""Delivering notification rows (being written)."""


def deliver_one(pk: int) -> str:
    raise RuntimeError("delivery is not wired yet")
