# Shell functions for images made from this host's files (no registry: nothing is
# pulled). Sourced by scripts/image and scripts/e2e.

# rootfs_add_binary FILE ROOTFS [DEST]: copies FILE to ROOTFS/DEST (default: its own
# path) with every shared library ldd resolves for it, the dynamic loader included,
# each at the path the loader looks for it.
rootfs_add_binary() {
    local file=$1 rootfs=$2 dest=${3:-$1} library
    install -D -m 0755 "$file" "$rootfs$dest"
    # ldd lines: "libx.so.1 => /lib/.../libx.so.1 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)".
    while read -r library; do
        [ -e "$rootfs$library" ] || install -D -m 0755 "$(readlink -f "$library")" "$rootfs$library"
    done < <(ldd "$file" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
}

# rootfs_image_size IMAGE: the image's size in bytes, as podman reports it.
rootfs_image_size() {
    podman image inspect --format '{{.Size}}' "$1"
}
