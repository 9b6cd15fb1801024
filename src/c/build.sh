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

# Where an upstream build stage left LTTng-UST built from source: one directory
# per variant, or a marker (NOT-SELECTED, MISSING, BUILD-FAILED) saying why not.
upstream=${DLM_UPSTREAM:-/opt/upstream}

# Copies a source-built LTTng-UST into the variant (its lib/ is on the scenarios'
# LD_LIBRARY_PATH) and prints the compiler flags to build against it; or leaves
# the variant's marker and fails.
use_upstream() { # name rt
	up="$upstream/$1"
	if [ ! -d "$up" ]; then
		echo "not applicable: no LTTng-UST built from source here (the Debian image templates" \
			"build it in a stage of its own)" >"$2/NOT-APPLICABLE" && return 1
	fi
	if [ -f "$up/BUILD-FAILED" ]; then
		cp "$up/BUILD-FAILED" "$2/BUILD-FAILED" && return 1
	fi
	for marker in NOT-SELECTED MISSING; do
		if [ -f "$up/$marker" ]; then
			cp "$up/$marker" "$2/NOT-APPLICABLE" && return 1
		fi
	done
	[ -f "$up/upstream.env" ] || { echo "no build of $1 in $up" >&2 && return 2; }
	# the libraries, and those of its musl dependencies (Debian's liburcu serves glibc)
	cp -P "$up"/lib/*.so* "$2/lib/" || return 2
	if [ -d "$upstream/musl-deps/lib" ]; then
		cp -P "$upstream"/musl-deps/lib/*.so* "$2/lib/" || return 2
		echo "-I$up/include -L$up/lib -I$upstream/musl-deps/include -L$upstream/musl-deps/lib" \
			"-Wl,-rpath-link,$upstream/musl-deps/lib"
	else
		echo "-I$up/include -L$up/lib"
	fi
}

# LTTng-UST (the image's own, or one built from source) and real tracepoint
# providers built against it.
build_lttng() { # name kind
	rt="$out/rt/$1"
	flags=""
	if [ "$2" = lttng-ust-source ]; then
		flags=$(use_upstream "$1" "$rt")
		case $? in 0) ;; 1) return 0 ;; *) return 1 ;; esac
	fi
	# shellcheck disable=SC2086 # flags are word lists on purpose
	if ! printf '#include <lttng/tracepoint.h>\n' | $cc $flags -E -x c - >/dev/null; then
		# built from source here, its headers must compile: a build error, the compiler's words in the log
		[ "$2" = lttng-ust-source ] && return 1
		echo "not applicable: no LTTng-UST development files for this C library here" \
			"(Debian packages LTTng-UST for glibc only)" >"$rt/NOT-APPLICABLE"
		return 0
	fi
	for p in a b app; do
		mkdir -p "$rt/obj/$p"
		for f in provider.c tp.h tp-legacy.h app-tracepoints.c; do
			sed "s/@PROVIDER@/dlmatrix_$p/g" "$src/lttng/$f.in" >"$rt/obj/$p/$f" || return 1
		done
	done
	for p in a b; do
		# lttng's own macros are not -Wextra clean in every release: warnings stay visible, not fatal
		# shellcheck disable=SC2086
		$cc -Wall -Wextra -O1 -fPIC -shared -I"$rt/obj/$p" $flags -o "$rt/lib/libdlmprov_$p.so" \
			"$rt/obj/$p/provider.c" -llttng-ust -ldl || return 1
	done
	# shellcheck disable=SC2086
	$cc $warn -o "$rt/bin/dlm-driver" "$src/driver.c" -pthread -ldl &&
	$cc $warn $flags -o "$rt/bin/dlm-driver-linked" "$src/driver.c" -Wl,--no-as-needed -llttng-ust -pthread -ldl &&
	# an application that defines tracepoints itself (probes come with a dlopen()ed provider)
	$cc -Wall -Wextra -O1 -c -I"$rt/obj/app" $flags -o "$rt/obj/app/app-tracepoints.o" "$rt/obj/app/app-tracepoints.c" &&
	$cc $warn -o "$rt/bin/dlm-driver-tracepoints" "$src/driver.c" "$rt/obj/app/app-tracepoints.o" -pthread -ldl &&
	$cc $warn -o "$rt/bin/dlm-futex-wake" "$src/lttng/futex-wake.c" ||
		return 1
	soname=$(objdump -p "$rt/lib/libdlmprov_a.so" | sed -n 's/^ *NEEDED *\(liblttng-ust\.so\.[0-9]*\)$/\1/p')
	if [ "$2" = lttng-ust-source ]; then
		library=$(readlink -f "$rt/lib/$soname")
	else
		library=$(readlink -f "$($cc -print-file-name="$soname")")
	fi
	[ -n "$soname" ] && [ -f "$library" ] || return 1
	cp "$src/lttng/lttng-common" "$src/lttng/lttng-wake" "$src/lttng/lttng-trace-start" \
		"$src/lttng/lttng-trace-check" "$src/lttng/lttng-fresh" "$rt/bin/" || return 1
	if [ "$2" = lttng-ust-source ]; then
		library="@RT@/lib/$(basename "$library")" # where it runs, not where it was built (/rootfs)
	fi
	{
		echo "DLM_RUNTIME_SONAME=$soname"
		echo "DLM_RUNTIME_LIB=$library"
		# quoted from 2.13 on, a bare 2.12.1 before
		# shellcheck disable=SC2086
		printf '#include <lttng/ust-version.h>\nLTTNG_UST_VERSION\n' | $cc $flags -E -x c - | tail -n 1 |
			sed 's/[" ]//g; s/^/DLM_RUNTIME_VERSION=/'
		echo "DLM_WAKE_COMMAND=@RT@/bin/lttng-wake"
		echo "DLM_LISTENER_COMM=-ust"
		# the library that, in the .so.0 series, keeps liblttng-ust loaded (docs/lttng-ust.md)
		echo "DLM_WATCH_SONAMES=liblttng-ust-tracepoint.so.${soname##*.}"
		echo "DLM_SETUP_COMMAND=@RT@/bin/lttng-fresh"
		# every LTTng-UST process of a uid waits on one futex in /dev/shm: attempts take turns
		echo "DLM_SERIAL=lttng-ust-wait-shm"
		if [ "$2" = lttng-ust-source ]; then cat "$upstream/$1/upstream.env"; fi
	} >"$rt/env"
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
	lttng-ust | lttng-ust-source) build_lttng "$name" "$kind" >"$out/build-$name.log" 2>&1 ;;
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
