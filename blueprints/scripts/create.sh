#!/bin/bash
# Runs once, when the notebook is created: seed the shared work directory.
set -euo pipefail
mkdir -p /home/ec2-user/SageMaker/shared
chown ec2-user:ec2-user /home/ec2-user/SageMaker/shared
