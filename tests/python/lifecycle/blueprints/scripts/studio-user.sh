#!/bin/bash
# Runs after the hardening, as the image's user: leaves a mark and tries the sudo it no longer has.
set -euo pipefail
id -un > "${NBSYNTH_ROOT:-}/home/sagemaker-user/.user-start-ran"
if sudo -n true 2>/dev/null; then echo "sudo still works" >> "${NBSYNTH_ROOT:-}/home/sagemaker-user/.user-start-ran"; fi
