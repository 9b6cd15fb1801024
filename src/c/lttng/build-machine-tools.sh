#!/bin/sh
# Gathers what a foreign image runs of the build machine's natively into OUT, a tree the image
# copies to / (cross.j2 tools_stage), by PART:
# - shell: the helpers' shell, this machine's dash (LIBEXEC/shell/sh, the driver's DLM_HELPER_SHELL),
#   and the utilities the helpers start (sleep, grep, tail...) beside it, so that no program of the
#   image is started (and translated anew under qemu-user) for them (busybox-static's sh, one
#   static program, spun forever in some helpers: its ash, not dash);
# - lttng-tools: the programs the LTTng helpers start (lttng-sessiond, lttng, babeltrace2) in
#   LIBEXEC, and, at the paths they are found at, what they load or start (the consumer daemon at
#   the path the session daemon was built with, babeltrace2's plug-ins, every shared library and
#   the ELF interpreter). Those paths are the build machine's multiarch ones
#   (/usr/lib/x86_64-linux-gnu), which a foreign image has no file of. VERSIONS holds both
#   packages' source versions and this machine, which the image compares with its own.
# Usage: build-machine-tools.sh OUT LIBEXEC PART...
set -eu
out=$1 libexec=$2
shift 2

# A file under $out by the name it is loaded by (a library's soname, not the file that link
# names), in its directory's real path (Debian's /lib is a link to /usr/lib), once.
copy() {
	directory=$(readlink -f "${1%/*}")
	[ -e "$out$directory/${1##*/}" ] && return 0
	mkdir -p "$out$directory"
	cp -L "$1" "$out$directory/${1##*/}"
}

# The shared libraries a program or plug-in loads, at their real paths; the interpreter where the
# program names it (the kernel finds it there). One that is not found fails the gathering (the
# image's own tools serve then), as does ldd's own failure.
libraries() {
	ldd "$1" >/tmp/dlm-ldd.txt
	while read -r first second third _; do
		case $second:$third in
		"=>:not") echo "$1 needs $first, which is not found" >&2 && return 1 ;;
		"=>:/"*) copy "$third" ;;
		*) case $first in /*) mkdir -p "$out${first%/*}" && cp -L "$first" "$out$first" ;; esac ;;
		esac
	done </tmp/dlm-ldd.txt
	rm -f /tmp/dlm-ldd.txt
}

gather_lttng_tools() {
	for program in lttng-sessiond lttng babeltrace2; do
		cp "$(command -v "$program")" "$out$libexec/$program"
		libraries "$out$libexec/$program"
	done
	consumerd=$(dpkg -L lttng-tools | grep '/lttng-consumerd$')
	copy "$consumerd"
	libraries "$consumerd"
	for plugin in /usr/lib/*/babeltrace2/plugins/*.so; do
		copy "$plugin"
		libraries "$plugin"
	done
	{
		dpkg-query -W -f 'lttng-tools ${source:Version}\n' lttng-tools
		dpkg-query -W -f 'babeltrace2 ${source:Version}\n' babeltrace2
		echo "machine $(uname -m)"
	} >"$out$libexec/VERSIONS"
}

# every program the helpers (src/c/lttng) start but the lttng-tools and their own dlm-futex-wake
gather_shell() {
	mkdir -p "$out$libexec/shell"
	cp "$(command -v dash)" "$out$libexec/shell/sh"
	libraries "$out$libexec/shell/sh"
	for program in sleep grep head tail cat mkdir mv rm; do
		cp "$(command -v "$program")" "$out$libexec/shell/$program"
		libraries "$out$libexec/shell/$program"
	done
}

mkdir -p "$out$libexec"
for part in "$@"; do
	case $part in
	shell) gather_shell ;;
	lttng-tools) gather_lttng_tools ;;
	*) echo "no part $part: shell or lttng-tools" >&2 && exit 2 ;;
	esac
done
