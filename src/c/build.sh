#!/bin/sh
# Builds the suite from source with this environment's compiler:
#   CC=gcc sh build.sh SRC_DIR OUT_DIR
# SRC_DIR is a bundle written by dlmatrix: these sources, variants.tsv and, for the
# host backend, suite.tsv (an image gets its catalog in a later, separate layer, so
# that a catalog change rebuilds nothing that is compiled).
# Each runtime variant lands in OUT/rt/NAME with an env file describing it to the
# driver.  A variant that fails to build leaves OUT/rt/NAME/BUILD-FAILED with the
# log, one that cannot exist here leaves NOT-APPLICABLE with the reason; their
# cells report build-error or skipped and the other variants carry on (exit 3).
set -u
src=$1
out=$2
cc=${CC:-cc}
warn="-Wall -Wextra -Werror -O1 -g"

mkdir -p "$out/bin" "$out/share" || exit 1
if [ -f "$src/suite.tsv" ]; then cp "$src/suite.tsv" "$out/share/suite.tsv" || exit 1; fi
$cc $warn -o "$out/bin/dlm-suite" "$src/suite.c" || exit 1

providers() { # rt, then compiler arguments for the providers
	rt=$1
	shift
	for p in a b; do
		$cc $warn -fPIC -shared -DPROVIDER_NAME="\"$p\"" -o "$rt/lib/libdlmprov_$p.so" \
			"$src/provider.c" "$@" || return 1
	done
}

build_model() { # name cflags ldflags
	rt="$out/rt/$1"
	# shellcheck disable=SC2086 # flags are word lists on purpose
	$cc $warn $2 -DDLM_VARIANT="\"$1\"" -fPIC -shared -Wl,-soname,libdlmrt.so.1 $3 \
		-o "$rt/lib/libdlmrt.so.1" "$src/runtime.c" -pthread -ldl &&
	providers "$rt" -L"$rt/lib" -l:libdlmrt.so.1 &&
	# reachable only through RUNPATH=$ORIGIN: the suite sets no LD_LIBRARY_PATH for it
	$cc $warn -fPIC -shared -DPROVIDER_NAME='"origin"' -o "$rt/lib/libdlmprov_origin.so" \
		"$src/provider.c" -L"$rt/lib" -l:libdlmrt.so.1 '-Wl,-rpath,$ORIGIN' -Wl,--enable-new-dtags &&
	$cc $warn -o "$rt/bin/dlm-driver" "$src/driver.c" -pthread -ldl &&
	$cc $warn -DDLM_LINKED_MODEL -o "$rt/bin/dlm-driver-linked" "$src/driver.c" -Wl,--no-as-needed \
		-L"$rt/lib" -l:libdlmrt.so.1 '-Wl,-rpath,$ORIGIN/../lib' -pthread -ldl &&
	printf 'DLM_RUNTIME_SONAME=libdlmrt.so.1\nDLM_RUNTIME_LIB=@RT@/lib/libdlmrt.so.1\n' >"$rt/env"
}

# The image's own liblttng-ust, and real tracepoint providers built against it.
build_lttng() { # name kind
	rt="$out/rt/$1"
	if ! printf '#include <lttng/tracepoint.h>\n' | $cc -E -x c - >/dev/null 2>&1; then
		echo "not applicable: no LTTng-UST development files for this C library here" \
			"(Debian packages LTTng-UST for glibc only)" >"$rt/NOT-APPLICABLE"
		return 0
	fi
	for p in a b; do
		mkdir -p "$rt/obj/$p"
		for f in provider.c tp.h tp-legacy.h; do
			sed "s/@PROVIDER@/dlmatrix_$p/g" "$src/lttng/$f.in" >"$rt/obj/$p/$f" || return 1
		done
		# lttng's own macros are not -Wextra clean in every release: warnings stay visible, not fatal
		$cc -Wall -Wextra -O1 -fPIC -shared -I"$rt/obj/$p" -o "$rt/lib/libdlmprov_$p.so" \
			"$rt/obj/$p/provider.c" -llttng-ust -ldl || return 1
	done
	$cc $warn -o "$rt/bin/dlm-driver" "$src/driver.c" -pthread -ldl &&
	$cc $warn -o "$rt/bin/dlm-driver-linked" "$src/driver.c" -Wl,--no-as-needed -llttng-ust -pthread -ldl ||
		return 1
	soname=$(objdump -p "$rt/lib/libdlmprov_a.so" | sed -n 's/^ *NEEDED *\(liblttng-ust\.so\.[0-9]*\)$/\1/p')
	library=$(readlink -f "$($cc -print-file-name="$soname")")
	[ -n "$soname" ] && [ -f "$library" ] || return 1
	cp "$src/lttng/lttng-common" "$src/lttng/lttng-wake" "$src/lttng/lttng-trace-start" \
		"$src/lttng/lttng-trace-check" "$rt/bin/" || return 1
	{
		echo "DLM_RUNTIME_SONAME=$soname"
		echo "DLM_RUNTIME_LIB=$library"
		# quoted from 2.13 on, a bare 2.12.1 before
		printf '#include <lttng/ust-version.h>\nLTTNG_UST_VERSION\n' | $cc -E -x c - | tail -n 1 |
			sed 's/[" ]//g; s/^/DLM_RUNTIME_VERSION=/' 
		echo "DLM_WAKE_COMMAND=@RT@/bin/lttng-wake"
		echo "DLM_LISTENER_COMM=-ust"
	} >"$rt/env"
	if [ "$2" = lttng-ust-unpinned ]; then
		$cc $warn -fPIC -shared -o "$rt/lib/libdlm-unpin.so" "$src/lttng/unpin.c" -ldl &&
		echo "LD_PRELOAD=@RT@/lib/libdlm-unpin.so" >>"$rt/env"
	fi
}

status=0
tab=$(printf '\t')
while IFS="$tab" read -r name kind cflags ldflags; do
	case $name in '#'* | '') continue ;; esac
	[ "$cflags" = "-" ] && cflags=""
	[ "$ldflags" = "-" ] && ldflags=""
	rm -rf "$out/rt/$name"
	mkdir -p "$out/rt/$name/bin" "$out/rt/$name/lib"
	case $kind in
	model) build_model "$name" "$cflags" "$ldflags" >"$out/build-$name.log" 2>&1 ;;
	lttng-ust | lttng-ust-unpinned) build_lttng "$name" "$kind" >"$out/build-$name.log" 2>&1 ;;
	*) echo "unknown runtime kind $kind" >"$out/build-$name.log" && false ;;
	esac
	if [ $? -ne 0 ]; then
		mv "$out/build-$name.log" "$out/rt/$name/BUILD-FAILED"
		echo "build.sh: runtime variant $name failed to build; see $out/rt/$name/BUILD-FAILED" >&2
		status=3
	else
		rm -f "$out/build-$name.log"
	fi
done <"$src/variants.tsv"
exit $status
