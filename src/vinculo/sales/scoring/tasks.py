"""Background work of sales scoring: recomputing many scores, and training the predictive
models followed by rescoring the open leads."""

from __future__ import annotations

from django.tasks import task

from vinculo.core.models import Workspace
from vinculo.core.tenancy import workspace_scope


@task()
def scores_recompute_task(workspace_id: int) -> int:
    """Recompute every lead's score of a workspace; returns the leads scored (0 when the
    workspace is gone). Safe to run twice: scores are computed from the rows every time."""
    from vinculo.sales.scoring.services import scores_recompute

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return 0
    with workspace_scope(workspace):
        return scores_recompute(workspace=workspace)


@task()
def lead_scoring_train_task(workspace_id: int) -> int:
    """Retrain a workspace's predictive models and rescore its open leads (nightly, and on
    request); returns the models trained."""
    from vinculo.sales.scoring.services import lead_scoring_retrain

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return 0
    with workspace_scope(workspace):
        return len(lead_scoring_retrain(workspace=workspace))
