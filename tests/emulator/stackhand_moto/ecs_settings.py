"""ECS UpdateClusterSettings, which moto lacks (UpdateCluster with settings works there).

API reference: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateClusterSettings.html
Replaces the named settings (containerInsights) and returns the cluster.
"""

from moto.core.responses import ActionResult
from moto.ecs.responses import EC2ContainerServiceResponse as EcsResponse


def _update_cluster_settings(self: EcsResponse) -> ActionResult:
    cluster_name = self._get_param("cluster")
    settings = self._get_param("settings") or []
    cluster = self.ecs_backend._get_cluster(cluster_name)
    merged = {s["name"]: s for s in (cluster.settings or [])}
    merged.update({s["name"]: s for s in settings})
    cluster.settings = list(merged.values())
    return ActionResult({"cluster": cluster})


def install() -> None:
    EcsResponse.update_cluster_settings = _update_cluster_settings
