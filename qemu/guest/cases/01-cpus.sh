# The guest sees every vCPU QEMU gives it (ACPI is on in the test kernel).
. "${MPTESTS:-/tests}/lib.sh"
want=$(cat $MPTESTS/data/expected-cpus)
got=$(grep -c '^processor' /proc/cpuinfo)
echo "expected $want CPUs, /proc/cpuinfo lists $got"
check "guest sees $want CPUs" [ "$got" = "$want" ]
check "all $want CPUs online" [ "$(cat /sys/devices/system/cpu/online)" = "0-$((want - 1))" ]
finish
