#!/bin/bash
# nbsynth {{ hook }} script for a SageMaker notebook instance (runs as root).
set -euo pipefail
umask 022
log() { echo "nbsynth: $*"; }
