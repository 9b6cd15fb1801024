#!/bin/sh
# Builds the suite from source with this environment's compiler:
#   CC=gcc sh build.sh SRC_DIR OUT_DIR
# SRC_DIR holds the C sources, variants.tsv and suite.tsv (written by dlmatrix).
# A runtime variant that fails to build leaves OUT/rt/NAME/BUILD-FAILED with the
# log, so its cells report build-error and the other variants carry on.
set -u
src=$1
out=$2
cc=${CC:-cc}
warn="-Wall -Wextra -Werror -O1 -g"

mkdir -p "$out/bin" "$out/share" || exit 1
cp "$src/suite.tsv" "$out/share/suite.tsv" || exit 1
$cc $warn -o "$out/bin/dlm-suite" "$src/suite.c" || exit 1

build_variant() { # name cflags ldflags
	rt="$out/rt/$1"
	mkdir -p "$rt/bin" "$rt/lib"
	# shellcheck disable=SC2086 # flags are word lists on purpose
	$cc $warn $2 -DDLM_VARIANT="\"$1\"" -fPIC -shared -Wl,-soname,libdlmrt.so.1 $3 \
		-o "$rt/lib/libdlmrt.so.1" "$src/runtime.c" -pthread -ldl &&
	for p in a b; do
		$cc $warn -fPIC -shared -DPROVIDER_NAME="\"$p\"" -o "$rt/lib/libdlmprov_$p.so" \
			"$src/provider.c" -L"$rt/lib" -l:libdlmrt.so.1 || return 1
	done &&
	# reachable only through RUNPATH=$ORIGIN: the suite sets no LD_LIBRARY_PATH for it
	$cc $warn -fPIC -shared -DPROVIDER_NAME='"origin"' -o "$rt/lib/libdlmprov_origin.so" \
		"$src/provider.c" -L"$rt/lib" -l:libdlmrt.so.1 '-Wl,-rpath,$ORIGIN' -Wl,--enable-new-dtags &&
	$cc $warn -o "$rt/bin/dlm-driver" "$src/driver.c" -pthread -ldl &&
	$cc $warn -DDLM_LINKED -o "$rt/bin/dlm-driver-linked" "$src/driver.c" -Wl,--no-as-needed \
		-L"$rt/lib" -l:libdlmrt.so.1 '-Wl,-rpath,$ORIGIN/../lib' -pthread -ldl
}

status=0
tab=$(printf '\t')
while IFS="$tab" read -r name cflags ldflags; do
	case $name in '#'* | '') continue ;; esac
	[ "$cflags" = "-" ] && cflags=""
	[ "$ldflags" = "-" ] && ldflags=""
	rm -rf "$out/rt/$name"
	if ! build_variant "$name" "$cflags" "$ldflags" > "$out/build-$name.log" 2>&1; then
		mkdir -p "$out/rt/$name"
		mv "$out/build-$name.log" "$out/rt/$name/BUILD-FAILED"
		echo "build.sh: runtime variant $name failed to build; see $out/rt/$name/BUILD-FAILED" >&2
		status=3
	else
		rm -f "$out/build-$name.log"
	fi
done < "$src/variants.tsv"
exit $status
