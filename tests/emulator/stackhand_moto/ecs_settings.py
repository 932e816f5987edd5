"""ECS UpdateClusterSettings, which moto lacks (UpdateCluster with settings works there), and
UpdateCluster's removal of the Service Connect defaults by an empty namespace, which moto stores.

API reference: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateClusterSettings.html
Replaces the named settings (containerInsights) and returns the cluster.
"""

from moto.core.responses import ActionResult
from moto.ecs.models import EC2ContainerServiceBackend
from moto.ecs.responses import EC2ContainerServiceResponse as EcsResponse

_update_cluster = EC2ContainerServiceBackend.update_cluster


def _update_cluster_removing_defaults(self, cluster_name, cluster_settings, configuration, service_connect_defaults):  # type: ignore[no-untyped-def]
    # "If you update the cluster with an empty string for the namespace name, the cluster
    # configuration for Service Connect is removed" (ClusterServiceConnectDefaultsRequest).
    removes = service_connect_defaults is not None and service_connect_defaults.get("namespace") == ""
    cluster = _update_cluster(self, cluster_name, cluster_settings, configuration, None if removes else service_connect_defaults)
    if removes:
        cluster.service_connect_defaults = None
    return cluster


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
    EC2ContainerServiceBackend.update_cluster = _update_cluster_removing_defaults
