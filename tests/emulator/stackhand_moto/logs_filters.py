"""Logs PutMetricFilter as an upsert. moto 5.2.5 appends a second filter with the same name.

API reference: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutMetricFilter.html
"Creates or updates a metric filter and associates it with the specified log group": a filter is
identified by its log group and name, and putting it again replaces it.
"""

from moto.logs.metric_filters import MetricFilters

_add_filter = MetricFilters.add_filter


def _upsert(self: MetricFilters, filter_name, filter_pattern, log_group_name, metric_transformations) -> None:
    self.metric_filters = [
        f
        for f in self.metric_filters
        if not (f["filterName"] == filter_name and f["logGroupName"] == log_group_name)
    ]
    _add_filter(self, filter_name, filter_pattern, log_group_name, metric_transformations)


def install() -> None:
    MetricFilters.add_filter = _upsert
