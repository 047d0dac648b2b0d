#!/bin/sh
# Installs Debian's chromium (for the linearizability checker's browser test) when missing.
set -e
if [ -x /usr/bin/chromium ]; then
    echo "chromium already installed"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y chromium
