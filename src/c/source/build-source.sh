#!/bin/sh
# Builds a runtime plug-in's library from source into a prefix (docs/runtimes.md,
# `source` and `build` in runtime.yaml), natively for the host backend or in a
# build stage of an image:
#   CC=gcc sh build-source.sh DIR PREFIX [DEPENDENCY_PREFIX...]
# DIR is what dlmatrix staged: source/ (the tree, patches applied), build.env
# (SYSTEM; SCRIPT, the plug-in's script in DIR, for the script system),
# configure.args (one argument per line) and evidence.env (what each cell
# records of the source, copied to PREFIX); or a marker instead (NOT-SELECTED,
# BUILD-FAILED, MISSING, NOT-APPLICABLE), copied to PREFIX.  Each dependency
# prefix (built the same way before) goes into CPPFLAGS, LDFLAGS and
# PKG_CONFIG_PATH, and is listed in PREFIX/depends, from which build.sh copies
# its libraries beside the runtime's.  The tree is built in a copy, so that DIR
# serves every C library.  The log is PREFIX/build.log; a build that fails
# leaves PREFIX/BUILD-FAILED with the end of it (build.sh makes that the
# plug-in's build error) and still exits 0: only this plug-in's cells are affected.
# DLM_CCACHE: a compiler cache directory (a BuildKit cache mount in an image, the
# user's cache on the host), used where ccache is installed: an edit recompiles
# only the objects whose input changed. DLM_CCACHE_SHARED: other builds use it at
# once (an image's, shared by its stages, and the host's), so a ccache without a stats log (before
# 4.4) counts nothing.
# DLM_TREES: where built trees are kept (an image's stages). A build keeps its tree there, as
# TREES/NAME; a derived one (build.env's BASE, build.derived-from) starts from TREES/BASE when
# its build is complete: its own patches (DIR/derive/, in order) applied there, make recompiles
# only what they touch (patch leaves the files it changes newer than their objects; a change to
# configure.ac or a Makefile.am reruns automake and configure by the tree's own rules), and it
# installs into the base's configured prefix, then moved to PREFIX (its .la and .pc files say
# PREFIX; a RUNPATH keeps the base's prefix, a directory that exists in no stage that uses it).
# Elsewhere (the host) a derived one builds DIR/source, which holds every patch, as any other.
# build.env's SUBDIRS (build.subdirs): the directories make builds and installs, in order.
# DLM_CONFIGURE_CACHES: a directory of configure caches (an image's stages, autotools): configure
# runs with --cache-file=config.cache, which it leaves in the directory as NAME.cache; build.env's
# CONFIGURE_CACHE_FROM (build.configure-cache-from) names the one it starts from, where that is
# there. Should configure fail with it (a variable that changed), it runs again without.
# DIR/bootstrapped: the tree with its configure made (autotools), by a stage that the images of one
# release share (dockerfiles/templates/macros.j2 bootstrap_stages), which ran
#   sh build-source.sh --bootstrap DIR
# on the release's base with its autotools alone. A build starts from it where it is there, and
# bootstraps source/ itself where it is not (that stage's failure leaves no bootstrapped/).
# DLM_HOST: a GNU triplet: a cross build on the build machine for that target (CC its
# compiler, autotools only: ./configure --host), for an image that runs under
# qemu-user (dockerfiles/templates/cross.j2). Every build records how it was built
# (DLM_EVIDENCE_BUILT_BY: native or cross, the compiler and its version).
set -u

# a checkout's configure: its own script makes it, else autoreconf
make_configure() {
	if [ -f bootstrap ]; then
		sh ./bootstrap
	elif [ -x autogen.sh ]; then ./autogen.sh; else autoreconf -fi; fi
}

# --bootstrap DIR (header comment): DIR/bootstrapped, and its log DIR/bootstrap.log; it never fails
# (a tree it cannot bootstrap is left as it is: the build bootstraps itself, and its log says why)
if [ "${1:-}" = --bootstrap ]; then
	dir=$2 SYSTEM=""
	for marker in NOT-SELECTED BUILD-FAILED MISSING NOT-APPLICABLE; do [ ! -f "$dir/$marker" ] || exit 0; done
	[ -f "$dir/build.env" ] && . "$dir/build.env" || exit 0
	[ "$SYSTEM" = autotools ] && [ ! -x "$dir/source/configure" ] || exit 0
	rm -rf "$dir/bootstrapping" "$dir/bootstrapped"
	if cp -pR "$dir/source" "$dir/bootstrapping" && (cd "$dir/bootstrapping" && make_configure) >"$dir/bootstrap.log" 2>&1; then
		mv "$dir/bootstrapping" "$dir/bootstrapped"
	else
		rm -rf "$dir/bootstrapping"
	fi
	exit 0
fi

dir=$(cd "$1" && pwd) || exit 2
mkdir -p "$2" && prefix=$(cd "$2" && pwd) || exit 2
shift 2
cc=${CC:-cc}
# markers instead of a tree: NOT-SELECTED (the run does not need it), BUILD-FAILED (not staged),
# MISSING (an archive or patch in no sources directory), NOT-APPLICABLE (not for this image)
[ -z "${DLM_CONFIGURE_CACHES:-}" ] || mkdir -p "$DLM_CONFIGURE_CACHES" || exit 2 # the stages after copy it
for marker in NOT-SELECTED BUILD-FAILED MISSING NOT-APPLICABLE; do
	if [ -f "$dir/$marker" ]; then
		cp "$dir/$marker" "$prefix/$marker"
		exit 0
	fi
done
SYSTEM="" SCRIPT="" SUBDIRS="" BASE="" CONFIGURE_CACHE_FROM=""
. "$dir/build.env" || exit 2
jobs=$(nproc 2>/dev/null || echo 2)
launcher=""
counting="" # how this build's compiles are counted: log, counters, or not at all
if [ -n "${DLM_CCACHE:-}" ] && command -v ccache >/dev/null 2>&1; then
	launcher=ccache
	# paths under the (temporary) build tree are hashed relative to it
	export CCACHE_DIR="$DLM_CCACHE" CCACHE_NOHASHDIR=1
	if ccache --help 2>&1 | grep -q -- --show-log-stats; then
		counting=log # this build's own counts (ccache 4.4 on)
		export CCACHE_STATSLOG="$prefix/ccache.log"
		rm -f "$CCACHE_STATSLOG"
	elif [ -z "${DLM_CCACHE_SHARED:-}" ]; then
		counting=counters # older: the cache's counters, this build's alone under an image's lock
		ccache -z >/dev/null
	fi # older, and a cache other builds use at once (the host's): no counts
fi
: >"$prefix/depends"
for dependency in "$@"; do
	CPPFLAGS="${CPPFLAGS:+$CPPFLAGS }-I$dependency/include"
	LDFLAGS="${LDFLAGS:+$LDFLAGS }-L$dependency/lib -Wl,-rpath-link,$dependency/lib"
	PKG_CONFIG_PATH="$dependency/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
	export CPPFLAGS LDFLAGS PKG_CONFIG_PATH
	echo "$dependency" >>"$prefix/depends"
done

# make, then make install, in SUBDIRS in order or in the whole tree: make_in TARGET [ARGUMENT...]
make_in() {
	target=$1
	shift
	if [ -z "$SUBDIRS" ]; then
		make ${target:+"$target"} -j"$jobs" "$@"
		return
	fi
	for subdir in $SUBDIRS; do
		make -C "$subdir" ${target:+"$target"} -j"$jobs" "$@" || return 1
	done
}

# what a derived build starts from: its base's complete tree, kept by the base's stage
base_tree() {
	[ -n "$BASE" ] && [ -n "${DLM_TREES:-}" ] && [ -f "$DLM_TREES/$BASE.built" ] && echo "$DLM_TREES/$BASE"
}

# the base's tree, this build's patches applied, made again (header comment)
derive() { # tree [ARGUMENT...]
	cd "$1" || return 1
	shift
	[ -n "$launcher" ] && export CCACHE_BASEDIR="$PWD"
	echo "derived from $BASE's built tree ($PWD): its patches applied, then make"
	for patch in "$dir"/derive/*; do
		echo "applying $(basename "$patch")"
		patch -p1 -i "$patch" || return 1
	done
	if [ "$SYSTEM" = make ]; then
		make_in "" CC="$cc" "$@" && make_in install CC="$cc" PREFIX="$prefix" "$@"
		return
	fi
	configured=$(sed -n 's/^prefix = //p' Makefile)
	[ -n "$configured" ] && rm -rf "$configured" || return 1 # the base's install, in this stage alone
	make_in "" && make_in install && cp -R "$configured/." "$prefix/" && rm -rf "$configured" || return 1
	for text in "$prefix"/lib/*.la "$prefix"/lib/pkgconfig/*.pc; do
		if [ -f "$text" ]; then sed -i "s|$configured|$prefix|g" "$text" || return 1; fi
	done
}

# ./configure, with the image's configure cache where there is one (header comment)
configure() {
	set -- --prefix="$prefix" --libdir="$prefix/lib" ${DLM_HOST:+--host="$DLM_HOST"} CC="$cc" "$@"
	if [ -z "${DLM_CONFIGURE_CACHES:-}" ]; then
		./configure "$@"
		return
	fi
	seed=""
	if [ -n "$CONFIGURE_CACHE_FROM" ] && [ -f "$DLM_CONFIGURE_CACHES/$CONFIGURE_CACHE_FROM.cache" ]; then
		seed="$DLM_CONFIGURE_CACHES/$CONFIGURE_CACHE_FROM.cache"
		# but its preprocessors: chosen with its own compiler flags (2.13 asks for C++11 first)
		grep -v -e '^ac_cv_prog_CPP=' -e '^ac_cv_prog_CXXCPP=' "$seed" >config.cache &&
			echo "configure starts from $CONFIGURE_CACHE_FROM's results ($seed), but its preprocessors"
	fi
	./configure --cache-file=config.cache "$@" ||
		{ [ -n "$seed" ] && echo "configure failed from $CONFIGURE_CACHE_FROM's results: again without them" &&
			rm -f config.cache && ./configure --cache-file=config.cache "$@"; } || return 1
	cp config.cache "$DLM_CONFIGURE_CACHES/$(basename "$prefix").cache"
}

build() {
	bare=$cc # a script gets the compiler itself: what it does with it is its own
	cc=${launcher:+$launcher }$cc
	set --
	while IFS= read -r argument; do
		[ -n "$argument" ] && set -- "$@" "$argument"
	done <"$dir/configure.args"
	if tree=$(base_tree); then
		derive "$tree" "$@" || return 1
		check_installed
		return
	fi
	[ -z "$BASE" ] || echo "no built tree of $BASE here: built from its own source"
	if [ -n "${DLM_TREES:-}" ]; then # kept for the stages derived from this one
		work="$DLM_TREES/$(basename "$prefix")"
		rm -rf "$work" "$work.built" && mkdir -p "$work" || return 1
	else
		work=$(mktemp -d) || return 1
		trap 'rm -rf "$work"' EXIT # a failed build leaves no copy of the tree behind
	fi
	if [ -d "$dir/bootstrapped" ]; then # its timestamps kept: make must not make configure again
		echo "configure made by the release's bootstrap stage"
		cp -pR "$dir/bootstrapped/." "$work/" && cd "$work" || return 1
	else
		cp -R "$dir/source/." "$work/" && cd "$work" || return 1
	fi
	[ -n "$launcher" ] && export CCACHE_BASEDIR="$work"
	echo "building with $SYSTEM, CC=$cc, into $prefix"
	case $SYSTEM in
	make)
		make_in "" CC="$cc" "$@" && make_in install CC="$cc" PREFIX="$prefix" "$@"
		;;
	autotools)
		if [ ! -x configure ]; then make_configure || return 1; fi
		configure "$@" && make_in "" && make_in install
		;;
	cmake)
		# CMake wants the compiler as one path: the words after it (gcc -m32) become flags
		compiler=${cc#"$launcher "}
		compiler=${compiler%% *}
		flags=${cc#*"$compiler"}
		cmake -S . -B _build -DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib \
			-DCMAKE_C_COMPILER="$compiler" -DCMAKE_C_FLAGS="$flags" \
			${launcher:+-DCMAKE_C_COMPILER_LAUNCHER=$launcher} "$@" &&
			cmake --build _build -j "$jobs" && cmake --install _build
		;;
	meson)
		CC="$cc" meson setup _build --prefix="$prefix" --libdir=lib "$@" &&
			meson compile -C _build && meson install -C _build
		;;
	script)
		PREFIX="$prefix" CC="$bare" sh "$dir/$SCRIPT" "$prefix" "$bare" "$@"
		;;
	*)
		echo "unknown build system $SYSTEM" && return 1
		;;
	esac || return 1
	if [ -n "${DLM_TREES:-}" ]; then touch "$work.built"; else cd / && rm -rf "$work"; fi
	check_installed
}

check_installed() {
	ls "$prefix"/lib/*.so* >/dev/null 2>&1 || { echo "the build installed no shared library in $prefix/lib" && return 1; }
	if [ -f "$dir/evidence.env" ]; then cp "$dir/evidence.env" "$prefix/evidence.env" || return 1; fi
	echo "DLM_EVIDENCE_BUILT_BY=$(built_by)" >>"$prefix/evidence.env"
}

# "cross aarch64-linux-gnu-gcc 12.2.0", "native gcc 12.2.0": how the library was built, as each cell says
built_by() {
	compiler=${bare%% *}
	version=$($compiler -dumpfullversion 2>/dev/null || $compiler -dumpversion 2>/dev/null || echo unknown)
	how=native
	[ -n "${DLM_HOST:-}" ] && how=cross
	echo "$how $(basename "$compiler") $version"
}

# "N compiled, M from the compiler cache": what this build compiled (dlmatrix bench reads it)
cache_counts() {
	case $counting in
	log)
		[ -f "$prefix/ccache.log" ] || { echo " (0 compiled, 0 from the compiler cache)" && return; }
		compiled=$(grep -cx cache_miss "$prefix/ccache.log")
		cached=$(grep -cxE '(direct|preprocessed)_cache_hit' "$prefix/ccache.log")
		;;
	counters)
		counters=$(ccache -s)
		compiled=$(echo "$counters" | awk '/^cache miss / { print $NF }')
		cached=$(echo "$counters" | awk '/^cache hit \((direct|preprocessed)\)/ { n += $NF } END { print n + 0 }')
		;;
	*) return 0 ;;
	esac
	echo " (${compiled:-0} compiled, $cached from the compiler cache)"
}

started=$(date +%s)
if build >"$prefix/build.log" 2>&1; then
	echo "built $(basename "$prefix") in $(($(date +%s) - started)) s$(cache_counts)" | tee -a "$prefix/build.log"
else
	echo "building $(basename "$prefix") from source failed; the end of its log:" >"$prefix/BUILD-FAILED"
	tail -n 60 "$prefix/build.log" >>"$prefix/BUILD-FAILED"
fi
exit 0
