"""Operations moto 5.2.5 lacks, and rules it skips (`strict`), registered on moto's own backends.

Each operation follows the AWS API reference: request and response shapes, and the validation
errors AWS returns. Written so it could be sent upstream; it is not a general mock.
"""

from . import cbor_bridge, cfn_status, cloudwatch_ext, cloudwatch_mute_rules, ecs_settings, kms_key_material, kms_paging, kms_replicas, kms_rotation, kms_usage, logs_filters, logs_kms, logs_queries, recorder, scheduler_rules, securityhub_rules, strict

INSTALLED = False


def install() -> None:
    """Registers every extension once; safe to call again."""
    global INSTALLED
    if INSTALLED:
        return
    recorder.install()
    logs_kms.install()
    logs_queries.install()
    ecs_settings.install()
    cloudwatch_ext.install()
    cfn_status.install()
    cloudwatch_mute_rules.install()
    cbor_bridge.install()
    kms_paging.install()
    kms_key_material.install()
    kms_replicas.install()
    kms_rotation.install()
    kms_usage.install()
    logs_filters.install()
    securityhub_rules.install()
    scheduler_rules.install()
    # Last: its rules wrap what the others registered.
    strict.install()
    INSTALLED = True
