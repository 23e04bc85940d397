"""What every area of sales shares."""

from __future__ import annotations

from vinculo.core.models import Workspace
from vinculo.sales.models import SalesSettings


def sales_settings_for(workspace: Workspace) -> SalesSettings:
    """The workspace's sales settings, created with the defaults on first use."""
    settings, _ = SalesSettings.objects.for_workspace(workspace).get_or_create(
        workspace=workspace, defaults={"working_days": [0, 1, 2, 3, 4]}
    )
    return settings
