"""COMPARISON BASELINE, not product code: a minimal Custom::KmsKey provider on crhelper + boto3,
written the way crhelper's README shows, for `make bench` to measure stackhand's kms-provider
against on the same emulator and Runtime API.
"""

import http.client

import boto3
import crhelper.utils
from crhelper import CfnResource

# The benchmark's local ResponseURL listener speaks plain HTTP, where S3's presigned URL is
# HTTPS; crhelper always opens HTTPS, so it gets a plain connection with the same interface.
crhelper.utils.HTTPSConnection = lambda host, context=None: http.client.HTTPConnection(host)

helper = CfnResource(json_logging=False, log_level="WARNING", boto_level="CRITICAL", sleep_on_delete=0)
kms = boto3.client("kms")


@helper.create
def create(event, _context):
    props = event.get("ResourceProperties", {})
    key = kms.create_key(
        Description=props.get("Description", ""),
        Tags=[{"TagKey": "stackhand:request-id", "TagValue": event["RequestId"]}],
    )["KeyMetadata"]
    kms.enable_key_rotation(KeyId=key["KeyId"])
    for alias in props.get("Aliases", []):
        kms.create_alias(AliasName=alias if alias.startswith("alias/") else f"alias/{alias}", TargetKeyId=key["KeyId"])
    helper.Data.update({"KeyId": key["KeyId"], "Arn": key["Arn"]})
    return key["KeyId"]


@helper.update
def update(event, _context):
    return event["PhysicalResourceId"]


@helper.delete
def delete(event, _context):
    kms.schedule_key_deletion(KeyId=event["PhysicalResourceId"], PendingWindowInDays=7)


def handler(event, context):
    helper(event, context)
