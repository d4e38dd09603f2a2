# The module's decode of live kernel functions matches objdump -d of the same
# vmlinux on the host: same instruction boundaries and lengths.
. "${MPTESTS:-/tests}/lib.sh"
load_markpatch
n=0
for f in $MPTESTS/data/objdump/*; do
	sym=$(basename "$f")
	if ! echo "$sym" > $MP/decode; then
		check "$sym resolves" false
		continue
	fi
	count=$(wc -l < "$f")
	# the module's "+0xOFF<TAB>LEN" columns as "OFF LEN" in decimal
	sed -n "2,$((count + 1))p" $MP/decode | while IFS='	' read -r off len rest; do
		echo "$((${off#+})) $len"
	done > /tmp/live
	if cmp -s /tmp/live "$f"; then
		check "$sym: $count instruction boundaries match objdump" true
	else
		echo "objdump:"; cat "$f"; echo "module:"; cat /tmp/live
		check "$sym: instruction boundaries match objdump" false
	fi
	n=$((n + 1))
done
check "compared at least 4 functions ($n)" [ "$n" -ge 4 ]
finish
