"""GraphQL for the SLRT workflow and ministry pushes: types, queries, mutations."""

from schema.workflow.mutations import WorkflowMutation
from schema.workflow.push import PushMutation
from schema.workflow.queries import WorkflowQuery

__all__ = ["PushMutation", "WorkflowMutation", "WorkflowQuery"]
