"""Logger and Metrics, created once per process and imported everywhere.

The service name and the metrics namespace come from the environment that
template.yaml's Globals set (POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE).
Tracer is left out on purpose: `Tracing: Active` in the template already gives
each invocation an X-Ray segment, and the Tracer import (aws-xray-sdk) would add
about 300 ms to every cold start of the synchronous API.
"""

import warnings

from aws_lambda_powertools import Logger, Metrics

# Routes such as /health record no metric; Powertools would warn about it on every
# call, filling the function's log with a line that says nothing.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

logger = Logger()
metrics = Metrics()
