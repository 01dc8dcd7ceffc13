#!/usr/bin/env bash
# The demo subject: a few things a workload might do, each a witnessed event.
cat /etc/hostname > /dev/null                       # exec cat, open a file
cat /etc/no-such-file 2> /dev/null                   # a failed open: ENOENT
(cd /etc && cat os-release > /dev/null)              # a relative open, resolved in the kernel
(exec 3<> /dev/tcp/127.0.0.1/9) 2> /dev/null         # connect over IPv4 (refused: nothing listens)
(exec 4<> /dev/tcp/::1/9) 2> /dev/null               # and over IPv6
sh -c 'id -u > /dev/null'                            # a grandchild
head -c 0 /etc/shadow                                # a credential read: the default rules flag it
exit 0
