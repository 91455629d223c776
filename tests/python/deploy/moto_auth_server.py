"""moto_server with IAM enforcement on, for the owner-access round trip.

moto enforces identity policies only after INITIAL_NO_AUTH_ACTION_COUNT requests (set in the
environment by the caller). One gap is filled here, and only this one: moto's SageMaker responses
authorize every request against the resource `*` (they define no `_determine_resource`), so a
statement scoped to a notebook's ARN never matches and every owner would be denied. This adds the
notebook instance's ARN, built from the request's NotebookInstanceName exactly as AWS names it;
evaluation itself stays moto's own.
"""
import json
import sys

from moto.utilities.utils import get_partition
from moto.sagemaker.responses import SageMakerResponse
from moto.server import main


def _determine_resource(self):
    try:
        name = json.loads(self.body or "{}").get("NotebookInstanceName")
    except ValueError:
        name = None
    if not name:
        return "*"
    return f"arn:{get_partition(self.region)}:sagemaker:{self.region}:{self.current_account}:notebook-instance/{name}"


SageMakerResponse._determine_resource = _determine_resource

if __name__ == "__main__":
    main(sys.argv[1:])
