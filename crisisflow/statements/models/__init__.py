from crisisflow.statements.models.fact_sheet import FactSheet, FactSheetVersion
from crisisflow.statements.models.statement import (
    Approval,
    Publication,
    Statement,
    StatementState,
    StatementVersion,
    VersionIsImmutable,
)

__all__ = [
    "Approval",
    "FactSheet",
    "FactSheetVersion",
    "Publication",
    "Statement",
    "StatementState",
    "StatementVersion",
    "VersionIsImmutable",
]
