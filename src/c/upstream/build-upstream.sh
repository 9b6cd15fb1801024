#!/bin/sh
# Builds one upstream snapshot in a build stage of its own (dlmatrix writes its
# directory into the image's build context):
#   CC=gcc sh build-upstream.sh DIR PREFIX [DEPS]
# DIR holds snapshot.tar.gz, patches/*.patch (applied in name order with patch -p1),
# configure.args (one argument per line) and upstream.env (what the driver reports),
# or a marker instead: NOT-SELECTED (the run does not need it) or MISSING (the
# snapshot is not in any sources directory; the text says how to get it).  Markers,
# and a build that fails (BUILD-FAILED with the log), are copied to PREFIX and the
# stage still succeeds: only this variant's cells are affected.  DEPS is a prefix
# of libraries built the same way (userspace-rcu for musl).
set -u
dir=$1
prefix=$2
deps=${3:-}
mkdir -p "$prefix"
for marker in NOT-SELECTED MISSING; do
	if [ -f "$dir/$marker" ]; then
		cp "$dir/$marker" "$prefix/$marker"
		exit 0
	fi
done

build() {
	work=$(mktemp -d) || return 1
	tar -xzf "$dir/snapshot.tar.gz" -C "$work" --strip-components=1 || return 1
	cd "$work" || return 1
	for patch in "$dir"/patches/*.patch; do
		[ -f "$patch" ] || continue
		echo "applying $(basename "$patch")"
		patch -p1 <"$patch" || return 1
	done
	set --
	while IFS= read -r argument; do
		[ -n "$argument" ] && set -- "$@" "$argument"
	done <"$dir/configure.args"
	if [ -n "$deps" ]; then
		set -- "$@" "CPPFLAGS=-I$deps/include" "LDFLAGS=-L$deps/lib -Wl,-rpath-link,$deps/lib" \
			"PKG_CONFIG_PATH=$deps/lib/pkgconfig"
	fi
	./bootstrap &&
	./configure --prefix="$prefix" CC="${CC:-cc}" "$@" &&
	make -j"$(nproc)" V=0 &&
	make install &&
	cp "$dir/upstream.env" "$prefix/upstream.env"
}

started=$(date +%s)
if build >"$prefix/build.log" 2>&1; then
	echo "built $(basename "$prefix") in $(($(date +%s) - started)) s"
	rm -f "$prefix/build.log"
else
	echo "building $(basename "$prefix") from source failed; the end of its log:" >"$prefix/BUILD-FAILED"
	tail -n 60 "$prefix/build.log" >>"$prefix/BUILD-FAILED"
	cat "$prefix/BUILD-FAILED" >&2
fi
exit 0
