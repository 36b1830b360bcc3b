#!/usr/bin/env bash
# Assembles the container image's whole file system into DEST, from the
# cdc-guard binary built on this machine (Debian 12):
#   /usr/local/bin/cdc-guard          the binary (debug sections stripped)
#   every shared library `ldd` names, the dynamic loader among them, at the
#   path the loader looks for it (with the symlinks that lead there: /lib ->
#   usr/lib as on Debian 12)
#   /etc/passwd, /etc/group           root and nonroot (65532, as distroless)
#   /etc/nsswitch.conf                files, then dns
#   /etc/ssl/certs/ca-certificates.crt
#   /etc/os-release, /var/lib/dpkg/status.d/PKG and
#   /usr/share/doc/PKG/copyright      for each Debian package a file came
#                                     from: the licences, and what image
#                                     scanners read to find the versions
#   /tmp (1777), /home/nonroot (65532)
# Nothing else: no shell, no package manager. The Dockerfile copies DEST into
# an empty (scratch) image, and tests/packaging/runtime_rootfs_test.sh runs
# cdc-guard from DEST under chroot, so the test checks what the image holds.
#
# Usage: scripts/runtime-rootfs.sh DEST [BINARY]   (BINARY: build/cdc-guard)
# DEST must not exist or be empty. Run as root so that every file is owned
# by root and /home/nonroot by 65532; otherwise the owners are left as they are.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 DEST [BINARY]" >&2
  exit 2
fi
dest=$1
binary=${2:-build/cdc-guard}
readonly nonroot_id=65532
readonly ca_bundle=/etc/ssl/certs/ca-certificates.crt

die() {
  echo "runtime-rootfs: $*" >&2
  exit 1
}

[ -f "$binary" ] || die "no binary at $binary (build first: scripts/build.sh)"
[ -f "$ca_bundle" ] || die "no $ca_bundle (apt-get install ca-certificates)"
if [ -e "$dest" ] && [ -n "$(ls -A "$dest")" ]; then
  die "$dest is not empty; give a new folder so nothing stale ends up in the image"
fi
mkdir -p "$dest"
dest=$(realpath "$dest")

# Recreates the absolute path $1 under $dest the way it is here: each symlink
# on the way (a directory like /lib, or a soname like libssl.so.3) becomes the
# same symlink, and the file it ends at is copied.
copy_path() {
  local path=$1 prefix="" part target next
  local -a parts
  IFS=/ read -ra parts <<<"${path#/}"
  for part in "${parts[@]}"; do
    prefix="$prefix/$part"
    if [ -L "$prefix" ]; then
      target=$(readlink "$prefix")
      if [ ! -L "$dest$prefix" ]; then
        mkdir -p "$dest$(dirname "$prefix")"
        ln -s "$target" "$dest$prefix"
      fi
      case $target in
        /*) next=$target ;;
        *) next=$(dirname "$prefix")/$target ;;
      esac
      copy_path "$(realpath -ms "$next${path#"$prefix"}")"
      return
    fi
  done
  if [ ! -e "$dest$path" ]; then
    mkdir -p "$dest$(dirname "$path")"
    cp -p "$path" "$dest$path"
  fi
}

# The Debian package that installed $1 ("" if none). dpkg records each file
# under the path its package ships it at, /lib or /usr/lib, so try both.
package_of() {
  local path=$1 real alt candidate out
  real=$(realpath "$path")
  case $real in
    /usr/*) alt=${real#/usr} ;;
    *) alt=/usr$real ;;
  esac
  for candidate in "$path" "$real" "$alt"; do
    if out=$(dpkg-query -S "$candidate" 2>/dev/null); then
      echo "${out%%:*}"
      return
    fi
  done
}

# 1. The binary.
install -D -m 0755 "$binary" "$dest/usr/local/bin/cdc-guard"
if command -v strip >/dev/null 2>&1; then
  strip --strip-debug "$dest/usr/local/bin/cdc-guard"
fi

# 2. Its shared libraries, as the loader resolves them here.
ldd_out=$(ldd "$binary") || die "ldd $binary failed (a static binary needs no rootfs script)"
if grep -q "not found" <<<"$ldd_out"; then
  die "$binary needs libraries this machine lacks:"$'\n'"$(grep "not found" <<<"$ldd_out")"
fi
libraries=()
while read -r line; do
  case $line in
    *"=> /"*) lib=${line#*=> }; libraries+=("${lib%% (*}") ;;  # libssl.so.3 => /lib/... (0x...)
    /*) libraries+=("${line%% (*}") ;;                          # /lib64/ld-linux-x86-64.so.2 (0x...)
  esac
done <<<"$ldd_out"
[ ${#libraries[@]} -gt 0 ] || die "ldd named no libraries for $binary"
for lib in "${libraries[@]}"; do
  copy_path "$lib"
done

# 3. Users, name service, CA certificates.
mkdir -p "$dest/etc/ssl/certs" "$dest/tmp" "$dest/home/nonroot"
cat >"$dest/etc/passwd" <<EOF
root:x:0:0:root:/root:/sbin/nologin
nonroot:x:$nonroot_id:$nonroot_id:nonroot:/home/nonroot:/sbin/nologin
EOF
cat >"$dest/etc/group" <<EOF
root:x:0:
nonroot:x:$nonroot_id:
EOF
# glibc 2.34+ has the files and dns services built in: no libnss_*.so needed.
cat >"$dest/etc/nsswitch.conf" <<EOF
passwd: files
group: files
hosts: files dns
EOF
cp -L "$ca_bundle" "$dest$ca_bundle"
chmod 1777 "$dest/tmp"

# 4. Where each file came from: os-release, the dpkg status of each package
# (one file per package, as distroless does) and its copyright file.
cp -L /etc/os-release "$dest/etc/os-release"
if command -v dpkg-query >/dev/null 2>&1; then
  packages=()
  for f in "${libraries[@]}" "$ca_bundle"; do
    p=$(package_of "$f")
    [ -n "$p" ] && packages+=("$p")
  done
  # ca-certificates.crt is generated, not shipped: name its package directly.
  dpkg-query -W ca-certificates >/dev/null 2>&1 && packages+=(ca-certificates)
  mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)
  mkdir -p "$dest/var/lib/dpkg/status.d"
  for p in "${packages[@]}"; do
    name=${p%%:*}
    dpkg-query -s "$p" >"$dest/var/lib/dpkg/status.d/$name"
    if [ -f "/usr/share/doc/$name/copyright" ]; then
      install -D -m 0644 "/usr/share/doc/$name/copyright" "$dest/usr/share/doc/$name/copyright"
    fi
  done
else
  echo "runtime-rootfs: no dpkg-query here: no package records or licences copied" >&2
fi

# 5. Owners: root everywhere, the home folder to nonroot.
if [ "$(id -u)" -eq 0 ]; then
  chown -R -h 0:0 "$dest"
  chown "$nonroot_id:$nonroot_id" "$dest/home/nonroot"
else
  echo "runtime-rootfs: not root: file owners left as they are" >&2
fi
chmod 0755 "$dest/home/nonroot"

echo "runtime-rootfs: $dest: $(find "$dest" -type f | wc -l) files, $(du -sh "$dest" | cut -f1)"
