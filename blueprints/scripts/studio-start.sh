#!/bin/bash
# Runs as sagemaker-user at every app start, after the hardening: a note in the home directory.
set -euo pipefail
echo "Modelling team: data under s3://acme-ml-datasets/datasets/" > /home/sagemaker-user/README-data.txt
