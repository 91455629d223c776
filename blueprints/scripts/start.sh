#!/bin/bash
# Runs on every start: a banner for the terminal.
set -euo pipefail
echo "Research notebooks: data under s3://acme-ml-datasets/datasets/" > /etc/motd
