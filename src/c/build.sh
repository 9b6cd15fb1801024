#!/bin/sh
# Builds the suite from source with this environment's compiler:
#   CC=gcc sh build.sh SRC_DIR OUT_DIR
# SRC_DIR is a bundle written by dlmatrix: these sources, generated.h (the step
# language and dlm-suite's bounds, from the Python side), variants.tsv and, for the
# host backend, suite.tsv (an image gets its catalog in a later, separate layer, so
# that a catalog change rebuilds nothing that is compiled).
# Each runtime variant lands in OUT/rt/NAME with an env file describing it to the
# driver.  A variant that fails to build leaves OUT/rt/NAME/BUILD-FAILED with the
# log, one that cannot exist here leaves NOT-APPLICABLE with the reason; their
# cells report build-error or skipped and the other variants carry on (exit 3).
# Every variant's env also carries the ELF facts of its runtime library and the
# package that ships it (DLM_EVIDENCE_* lines: the driver reports them).
set -u
src=$1
out=$2
cc=${CC:-cc}
warn="-Wall -Wextra -Werror -O1 -g"

# DLM_ONLY=NAME builds that variant alone, in an image layer of its own after the
# suite's (a plug-in built from source, whose library an edit rebuilds without
# rebuilding the suite); DLM_LATER names the variants left to such layers.
only=${DLM_ONLY:-}
later=${DLM_LATER:-}
# An image that runs under qemu-user has all of it compiled on the build machine (DLM_HOST,
# cross.j2), but what its cross toolchain or a variant's packages could not serve there.

mkdir -p "$out/bin" "$out/share" || exit 1
if [ -z "$only" ]; then
	if [ -f "$src/suite.tsv" ]; then cp "$src/suite.tsv" "$out/share/suite.tsv" || exit 1; fi
	$cc $warn -I"$src" -o "$out/bin/dlm-suite" "$src"/suite/*.c || exit 1
fi

providers() { # rt compiler source, then compiler arguments: providers a and b in rt/lib
	prov_rt=$1 prov_cc=$2 prov_src=$3
	shift 3
	for p in a b; do
		# shellcheck disable=SC2086 # the compiler may be a command with words (CC="gcc -m32")
		$prov_cc $warn -fPIC -shared -DPROVIDER_NAME="\"$p\"" -o "$prov_rt/lib/libdlmprov_$p.so" "$prov_src" "$@" ||
			return 1
	done
}

# The driver's sources but main.c (the only one a driver's flags change: DLM_LINKED_MODEL) are
# compiled once per build.sh, not once per driver of every variant (most of the compiling, and
# under qemu most of an emulated image's build); each driver compiles main.c and links them.
objects=""
driver_objects() { # compiles them once; $objects lists them
	[ -n "$objects" ] && return 0
	rm -rf "$out/obj/driver" && mkdir -p "$out/obj/driver" || return 1
	for source in "$src"/driver/*.c; do
		[ "$(basename "$source")" = main.c ] && continue
		object="$out/obj/driver/$(basename "$source" .c).o"
		$cc $warn -I"$src" -pthread -c -o "$object" "$source" || return 1
		objects="$objects $object"
	done
}

driver() { # rt name, then compiler arguments: the scenario driver as rt/bin/name
	drv_rt=$1 drv_name=$2
	shift 2
	driver_objects || return 1
	# shellcheck disable=SC2086 # the objects are words
	$cc $warn -I"$src" -o "$drv_rt/bin/$drv_name" "$src/driver/main.c" $objects "$@" -pthread -ldl
}

# "native gcc 12.2.0", "cross aarch64-linux-gnu-gcc 12.2.0" (DLM_HOST: compiled on the build
# machine for an image that runs under qemu-user): how a runtime's providers and drivers were
# compiled (a source-built library's own build says so in built_by, build-source.sh)
drivers_built_by() {
	compiler=${cc%% *}
	version=$($compiler -dumpfullversion 2>/dev/null || $compiler -dumpversion 2>/dev/null || echo unknown)
	how=native
	[ -n "${DLM_HOST:-}" ] && how=cross
	echo "$how $(basename "$compiler") $version"
}

# Is word $2 among the words of $1?
has_word() {
	case " $1 " in *" $2 "*) echo true ;; *) echo false ;; esac
}

# "package version" of the package that ships a file (dpkg, apk or rpm), or why none.
package_of() {
	file=$(readlink -f "$1")
	if command -v dpkg-query >/dev/null 2>&1; then
		for path in "$file" "${file#/usr}"; do
			package=$(dpkg-query -S "$path" 2>/dev/null | sed -n '1s/: .*//p')
			if [ -n "$package" ]; then
				echo "${package%%:*} $(dpkg-query -W -f '${Version}' "$package")"
				return
			fi
		done
	elif command -v apk >/dev/null 2>&1; then
		package=$(apk info --who-owns "$file" 2>/dev/null | sed -n 's/.* is owned by //p')
		[ -n "$package" ] && echo "$package" && return
	elif command -v rpm >/dev/null 2>&1; then
		rpm -qf --qf '%{NAME} %{VERSION}-%{RELEASE}\n' "$file" 2>/dev/null && return
	fi
	echo "none (built here)"
}

# The runtime library's ELF facts that decide whether dlclose() may unmap it.
elf_facts() { # library
	dynamic=$(readelf -d -W "$1" 2>/dev/null) || { echo "DLM_EVIDENCE_ELF_FILE=unreadable: $1" && return; }
	flags=$(printf '%s\n' "$dynamic" | sed -n 's/.*(FLAGS) *//p')
	flags_1=$(printf '%s\n' "$dynamic" | sed -n 's/.*(FLAGS_1) *Flags: *//p')
	unique=$(readelf --dyn-syms -W "$1" | awk '$5 == "UNIQUE" && $7 != "UND" { print $8 }' | sort -u)
	echo "DLM_EVIDENCE_ELF_FILE=$(readlink -f "$1")"
	echo "DLM_EVIDENCE_ELF_SONAME=$(printf '%s\n' "$dynamic" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
	echo "DLM_EVIDENCE_ELF_NODELETE=$(has_word "$flags_1" NODELETE)"
	echo "DLM_EVIDENCE_ELF_STATIC_TLS=$(has_word "$flags" STATIC_TLS)"
	if [ "$(has_word "$flags" BIND_NOW)" = true ] || [ "$(has_word "$flags_1" NOW)" = true ]; then
		echo "DLM_EVIDENCE_ELF_BIND_NOW=true"
	else
		echo "DLM_EVIDENCE_ELF_BIND_NOW=false"
	fi
	echo "DLM_EVIDENCE_ELF_GNU_UNIQUE=$(printf '%s' "$unique" | grep -c .)"
	if [ -n "$unique" ]; then # glibc marks an object that defines one NODELETE when it is bound
		echo "DLM_EVIDENCE_ELF_GNU_UNIQUE_FIRST=$(printf '%s\n' "$unique" | head -n 3 | cut -c1-100 | paste -sd, -)"
	fi
	echo "DLM_EVIDENCE_PACKAGE=$(package_of "$1")"
}

build_model() { # name cflags ldflags
	rt="$out/rt/$1"
	# shellcheck disable=SC2086 # flags are word lists on purpose
	$cc $warn $2 -DDLM_VARIANT="\"$1\"" -fPIC -shared -Wl,-soname,libdlmrt.so.1 $3 \
		-o "$rt/lib/libdlmrt.so.1" "$src/runtime.c" -pthread -ldl &&
	providers "$rt" "$cc" "$src/provider.c" -L"$rt/lib" -l:libdlmrt.so.1 &&
	# reachable only through RUNPATH=$ORIGIN: the suite sets no LD_LIBRARY_PATH for it
	$cc $warn -fPIC -shared -DPROVIDER_NAME='"origin"' -o "$rt/lib/libdlmprov_origin.so" \
		"$src/provider.c" -L"$rt/lib" -l:libdlmrt.so.1 '-Wl,-rpath,$ORIGIN' -Wl,--enable-new-dtags &&
	driver "$rt" dlm-driver &&
	driver "$rt" dlm-driver-linked -DDLM_LINKED_MODEL -Wl,--no-as-needed \
		-L"$rt/lib" -l:libdlmrt.so.1 '-Wl,-rpath,$ORIGIN/../lib' &&
	{
		printf 'DLM_RUNTIME_SONAME=libdlmrt.so.1\nDLM_RUNTIME_LIB=@RT@/lib/libdlmrt.so.1\n'
		echo "DLM_EVIDENCE_DRIVERS_BUILT_BY=$(drivers_built_by)"
		elf_facts "$rt/lib/libdlmrt.so.1"
	} >"$rt/env"
}

# Where the image's package layer left each plug-in's marker: NAME.ok,
# NAME.FAILED (the package manager's log) or NAME.NOT-APPLICABLE (the host
# backend marks every plug-in so).  Unset when build.sh is run by hand: the
# plug-ins' packages are then taken to be installed.
packages=${DLM_PACKAGES:-}

# A variant whose packages did not install here: the log says why, and PACKAGES-FAILED marks it
# for an image that compiles it again elsewhere (cross.j2: under qemu, what the build machine
# could not, where the image's own package layer installed them).
packages_failed() { # name rt
	: >"$2/PACKAGES-FAILED"
	echo "the packages of runtime $1 did not install here; the package manager said:"
	cat "$packages/$1.FAILED" 2>/dev/null || echo "(no log: no package layer ran for it)"
}

# Where a plug-in's runtime library is: beside the -L directories it links
# with, else where the compiler finds it, else where the provider resolved it.
find_library() { # soname provider link-flags
	for flag in $3; do
		case $flag in -L*) [ -e "${flag#-L}/$1" ] && readlink -f "${flag#-L}/$1" && return ;; esac
	done
	# a cross compiler finds its own copy of GCC's libraries (libgomp1-arm64-cross, in /usr/TRIPLET);
	# the image has the target's package, at the multiarch path the build machine has it too
	for dir in ${DLM_HOST:+/usr/lib/$DLM_HOST /lib/$DLM_HOST}; do
		[ -e "$dir/$1" ] && readlink -f "$dir/$1" && return
	done
	found=$($cc -print-file-name="$1")
	[ "$found" != "$1" ] && [ -e "$found" ] && readlink -f "$found" && return
	ldd "$2" 2>/dev/null | awk -v soname="$1" '$1 == soname && $3 ~ /^\// { print $3 }' | xargs -r readlink -f
}

# Where the runtimes built from source (plug-ins, LTTng-UST entries) and their
# dependencies were installed, one prefix each (dlmatrix's builder natively, a build
# stage of its own in an image): NAME/ with include/ and lib/, or NAME/BUILD-FAILED
# with the end of the build's log, or a marker saying why nothing was built
# (NOT-SELECTED, MISSING, NOT-APPLICABLE).
built=${DLM_BUILT:-/opt/dlmatrix-built}

# Copies a library built from source (a plug-in's, or LTTng-UST's) into the variant,
# with the libraries of the dependencies it was built against (PREFIX/depends), so
# that its lib/ on the scenarios' LD_LIBRARY_PATH holds all of them, and prints the
# flags to build against it; or says why not and fails (1: not applicable, its
# cells are skipped with the marker's text; 2: a build error, the log on stderr).
use_built() { # name rt
	prefix="$built/$1"
	if [ ! -d "$prefix" ]; then
		echo "not applicable: $1 is built from source and nothing built it for this environment" \
			>"$2/NOT-APPLICABLE" && return 1
	fi
	for marker in NOT-SELECTED MISSING NOT-APPLICABLE; do
		if [ -f "$prefix/$marker" ]; then
			cp "$prefix/$marker" "$2/NOT-APPLICABLE" && return 1
		fi
	done
	if [ -f "$prefix/BUILD-FAILED" ]; then
		cat "$prefix/BUILD-FAILED" >&2 && return 2
	fi
	cp -P "$prefix"/lib/*.so* "$2/lib/" || return 2
	use_flags="-I$prefix/include -L$prefix/lib -Wl,-rpath-link,$prefix/lib"
	if [ -f "$prefix/depends" ]; then
		while IFS= read -r dependency; do
			[ -n "$dependency" ] || continue
			cp -P "$dependency"/lib/*.so* "$2/lib/" || return 2
			use_flags="$use_flags -I$dependency/include -L$dependency/lib -Wl,-rpath-link,$dependency/lib"
		done <"$prefix/depends"
	fi
	echo "$use_flags"
}

# LTTng-UST (the image's own, or one built from source) and real tracepoint
# providers built against it.
build_lttng() { # name from (source: built from the entry's source, else the image's own)
	rt="$out/rt/$1"
	flags=""
	if [ "$2" = source ]; then
		flags=$(use_built "$1" "$rt")
		case $? in 0) ;; 1) return 0 ;; *) return 1 ;; esac
	elif [ -n "$packages" ] && [ -f "$packages/$1.FAILED" ]; then
		# the image's own, for a foreign target on the build machine (cross.j2 suite_stage)
		packages_failed "$1" "$rt"
		return 1
	fi
	# shellcheck disable=SC2086 # flags are word lists on purpose
	if ! printf '#include <lttng/tracepoint.h>\n' | $cc $flags -E -x c - >/dev/null; then
		# built from source here, its headers must compile: a build error, the compiler's words in the log
		[ "$2" = source ] && return 1
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
	driver "$rt" dlm-driver &&
	driver "$rt" dlm-driver-linked $flags -Wl,--no-as-needed -llttng-ust &&
	# an application that defines tracepoints itself (probes come with a dlopen()ed provider)
	$cc -Wall -Wextra -O1 -c -I"$rt/obj/app" $flags -o "$rt/obj/app/app-tracepoints.o" "$rt/obj/app/app-tracepoints.c" &&
	driver "$rt" dlm-driver-tracepoints "$rt/obj/app/app-tracepoints.o" &&
	$cc $warn -o "$rt/bin/dlm-futex-wake" "$src/lttng/futex-wake.c" &&
	$cc $warn -DDLM_FRESH -o "$rt/bin/dlm-lttng-fresh" "$src/lttng/futex-wake.c" ||
		return 1
	soname=$(objdump -p "$rt/lib/libdlmprov_a.so" | sed -n 's/^ *NEEDED *\(liblttng-ust\.so\.[0-9]*\)$/\1/p')
	if [ "$2" = source ]; then
		library=$(readlink -f "$rt/lib/$soname")
	else
		library=$(find_library "$soname" "$rt/lib/libdlmprov_a.so" "")
	fi
	[ -n "$soname" ] && [ -f "$library" ] || return 1
	cp "$src/lttng/lttng-common" "$src/lttng/lttng-wake" "$src/lttng/lttng-trace-start" \
		"$src/lttng/lttng-trace-check" "$rt/bin/" || return 1
	if [ "$2" = source ]; then
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
		echo "DLM_THREAD_PATTERN=*-ust"
		# the library that, in the .so.0 series, keeps liblttng-ust loaded (docs/lttng-ust.md)
		echo "DLM_WATCH_SONAMES=liblttng-ust-tracepoint.so.${soname##*.}"
		echo "DLM_SETUP_COMMAND=@RT@/bin/dlm-lttng-fresh"
		# every LTTng-UST process of a uid waits on one futex in /dev/shm: each attempt runs under a
		# lane uid of its own, or (where dlm-suite cannot switch uids) the attempts take turns
		echo "DLM_SERIAL=lttng-ust-wait-shm"
		echo "DLM_EVIDENCE_DRIVERS_BUILT_BY=$(drivers_built_by)"
		if [ "$2" = source ]; then
			cat "$built/$1/evidence.env"
			elf_facts "$rt/lib/$(basename "$library")"
		else
			elf_facts "$library"
		fi
	} >"$rt/env"
}

# The pkg-config names of build.pkg-config, one per entry: a plain name, or alternatives NAME|NAME
# (one package named by release or architecture: oneTBB's tbb32 on 32-bit) of which the first that
# pkg-config finds (in PKG_CONFIG_PATH, then its own path) is used.  On stdout the names; when an
# entry has none, every name tried and pkg-config's own words on stderr, and status 1.
pkg_config_names() { # PKG_CONFIG_PATH, then the entries (PKG_CONFIG_NAMES)
	search=$1
	shift
	chosen=""
	for entry in "$@"; do
		found=""
		for name in $(echo "$entry" | tr '|' ' '); do
			PKG_CONFIG_PATH=$search pkg-config --exists "$name" && found=$name && break
		done
		if [ -z "$found" ]; then
			echo "pkg-config found none of $(echo "$entry" | sed 's/|/, /g') here, tried in that order" \
				"(build.pkg-config in runtime.yaml); pkg-config said:" >&2
			for name in $(echo "$entry" | tr '|' ' '); do
				PKG_CONFIG_PATH=$search pkg-config --print-errors --exists "$name"
			done
			return 1
		fi
		chosen="$chosen${chosen:+ }$found"
	done
	echo "$chosen"
}

# A runtime plug-in (docs/runtimes.md): its library from the image's packages or built from source,
# its provider source built as providers a and b, drivers linked or not.
build_plugin() { # name from (source: built from its source, else from packages)
	rt="$out/rt/$1"
	dir="$src/plugins/$1"
	# PROVIDER_SOURCE PROVIDER_LANG PKG_CONFIG_NAMES BUILD_CFLAGS BUILD_LIBS SONAMES, by dlmatrix
	FROM_SOURCE=""
	[ "$2" = source ] && FROM_SOURCE=1
	. "$dir/plugin.env" || return 1
	flags=""
	built_lib=""
	if [ "$FROM_SOURCE" = 1 ]; then
		flags=$(use_built "$1" "$rt")
		case $? in 0) ;; 1) return 0 ;; *) return 1 ;; esac
		built_lib="$built/$1/lib"
	elif [ -n "$packages" ] && [ -f "$packages/$1.NOT-APPLICABLE" ]; then
		cp "$packages/$1.NOT-APPLICABLE" "$rt/NOT-APPLICABLE" && return 0
	elif [ -n "$packages" ] && [ ! -f "$packages/$1.ok" ]; then
		packages_failed "$1" "$rt"
		return 1
	fi
	compiler=$cc
	if [ "$PROVIDER_LANG" = c++ ]; then
		compiler=${CXX:-$(echo "$cc" | sed 's/gcc$/g++/; s/^cc$/c++/; s/clang$/clang++/')}
	fi
	pkg_config=""
	if [ -n "$PKG_CONFIG_NAMES" ]; then
		search="${built_lib:+$built_lib/pkgconfig:}${PKG_CONFIG_PATH:-}" # a source build's .pc files first
		# shellcheck disable=SC2086 # entries are words
		pkg_config=$(pkg_config_names "$search" $PKG_CONFIG_NAMES) || return 1
		echo "pkg-config: $pkg_config (build.pkg-config: $PKG_CONFIG_NAMES)"
		# shellcheck disable=SC2086
		flags="$flags $(PKG_CONFIG_PATH=$search pkg-config --cflags --libs $pkg_config)" || {
			echo "pkg-config --cflags --libs $pkg_config failed (build.pkg-config in runtime.yaml)"
			return 1
		}
	fi
	# shellcheck disable=SC2086 # flags are word lists on purpose
	providers "$rt" "$compiler" "$dir/$PROVIDER_SOURCE" $BUILD_CFLAGS $flags $BUILD_LIBS || return 1
	needed=$(objdump -p "$rt/lib/libdlmprov_a.so" | sed -n 's/^ *NEEDED *//p' | tr '\n' ' ')
	SONAME=""
	for candidate in $SONAMES; do
		[ "$(has_word "$needed" "$candidate")" = true ] && SONAME=$candidate && break
	done
	if [ -z "$SONAME" ]; then
		echo "the provider links none of $SONAMES (soname in runtime.yaml); it needs: ${needed:-no shared library}"
		return 1
	fi
	library=$(find_library "$SONAME" "$rt/lib/libdlmprov_a.so" "$flags $BUILD_LIBS")
	[ -n "$library" ] || { echo "cannot find $SONAME, which the provider links" && return 1; }
	if [ "$FROM_SOURCE" = 1 ]; then # the runs take the copy in rt/lib, on their LD_LIBRARY_PATH
		library="$rt/lib/$(basename "$library")"
		[ -f "$library" ] || { echo "$SONAME is not in the build's lib directory" && return 1; }
	fi
	# shellcheck disable=SC2086
	driver "$rt" dlm-driver && driver "$rt" dlm-driver-linked -Wl,--no-as-needed $flags $BUILD_LIBS || return 1
	{
		echo "DLM_RUNTIME_SONAME=$SONAME"
		if [ "$FROM_SOURCE" = 1 ]; then
			echo "DLM_RUNTIME_LIB=@RT@/lib/$(basename "$library")" # where it runs, not where it was built
		else
			echo "DLM_RUNTIME_LIB=$library"
		fi
		elf_facts "$library"
		cat "$dir/runtime.env"
		# the .pc files used, where an entry had alternatives the one found here
		[ -z "$pkg_config" ] || echo "DLM_EVIDENCE_PKG_CONFIG=$(echo "$pkg_config" | tr ' ' ',')"
		echo "DLM_EVIDENCE_DRIVERS_BUILT_BY=$(drivers_built_by)"
		if [ "$FROM_SOURCE" = 1 ]; then cat "$built/$1/evidence.env"; fi
	} >"$rt/env"
}

status=0
tab=$(printf '\t')
while IFS="$tab" read -r name kind cflags ldflags from; do
	case $name in '#'* | '') continue ;; esac
	if [ -n "$only" ]; then
		[ "$(has_word "$only" "$name")" = true ] || continue
	elif [ "$(has_word "$later" "$name")" = true ]; then
		continue
	fi
	[ "$cflags" = "-" ] && cflags=""
	[ "$ldflags" = "-" ] && ldflags=""
	rm -rf "$out/rt/$name"
	mkdir -p "$out/rt/$name/bin" "$out/rt/$name/lib"
	case $kind in
	model) build_model "$name" "$cflags" "$ldflags" >"$out/build-$name.log" 2>&1 ;;
	lttng-ust) build_lttng "$name" "$from" >"$out/build-$name.log" 2>&1 ;;
	plugin) build_plugin "$name" "$from" >"$out/build-$name.log" 2>&1 ;;
	broken) cat "$src/plugins/$name/PROBLEM" >"$out/build-$name.log" && false ;;
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
rm -rf "$out/obj"
exit $status
