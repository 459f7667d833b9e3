#!/bin/bash
# rss.sh PID SECS -> peak RSS MB
peak=0; end=$(( $(date +%s) + $2 ))
while [ $(date +%s) -lt $end ] && kill -0 $1 2>/dev/null; do r=$(awk '/VmRSS/{print int($2/1024)}' /proc/$1/status); [ "$r" -gt "$peak" ] && peak=$r; sleep 0.3; done; echo "peak RSS MB $peak"
