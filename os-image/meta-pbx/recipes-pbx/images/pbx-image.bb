SUMMARY = "PBX appliance firmware image"
DESCRIPTION = "systemd, read-only root file system, the PBX app in the A/B app slot layout on the \
data partition, every library the app opens through FFI. Disk layout: wic/pbx-ab.wks."
LICENSE = "MIT"

inherit core-image

require conf/machine/include/pbx-x86-64.inc
COMPATIBLE_MACHINE = "qemux86-64|genericx86-64"

IMAGE_FEATURES += "read-only-rootfs overlayfs-etc"
# /etc: a writable overlay whose upper layer is on the data partition, mounted before systemd by
# files/pbx-etc-preinit.sh.in (hostname, time zone, network and timesyncd files the box writes;
# emptied on a factory reset). The partition by label: no udev yet, mount(8) resolves LABEL=.
OVERLAYFS_ETC_MOUNT_POINT = "${PBX_DATA_MOUNT}"
OVERLAYFS_ETC_DEVICE = "LABEL=data"
OVERLAYFS_ETC_FSTYPE = "ext4"
OVERLAYFS_ETC_MOUNT_OPTIONS = "defaults,noatime"
# The stock template remounts / read-write to create mount points; ours does not (they exist).
OVERLAYFS_ETC_CREATE_MOUNT_DIRS = "0"
OVERLAYFS_ETC_INIT_TEMPLATE = "${PBX_LAYERDIR}/files/pbx-etc-preinit.sh.in"
IMAGE_LINGUAS = ""
IMAGE_INSTALL = "\
    packagegroup-core-boot \
    packagegroup-pbx-runtime \
    pbx-app \
    volatile-binds \
    ${CORE_IMAGE_EXTRA_INSTALL} \
"

IMAGE_FSTYPES = "wic ext4"

# Image-level A/B with RAUC (distro pbx-rauc, needs meta-rauc; docs/yocto.md): GRUB picks rootfs A
# or B and loads the kernel from the chosen root file system, so the kernel goes into /boot.
IMAGE_INSTALL:append = "${@bb.utils.contains('DISTRO_FEATURES', 'rauc', ' rauc pbx-rauc-grubconf kernel-image-bzimage', '', d)}"
WKS_FILE = "${@bb.utils.contains('DISTRO_FEATURES', 'rauc', 'pbx-ab-rauc.wks', 'pbx-ab.wks', d)}"
WKS_FILE_DEPENDS:append = "${@bb.utils.contains('DISTRO_FEATURES', 'rauc', ' pbx-rauc-grubconf', '', d)}"
IMAGE_EFI_BOOT_FILES:append = "${@bb.utils.contains('DISTRO_FEATURES', 'rauc', ' grubenv;EFI/BOOT/grubenv', '', d)}"
# Room on rootfs A for the app slot seed and Deno (~100 MB) beyond what the packages need.
IMAGE_ROOTFS_EXTRA_SPACE = "131072"

# No root login at all: the box is driven through its web UI/API.
ROOT_PASSWORD_LOCK = "1"
inherit extrausers
EXTRA_USERS_PARAMS = "usermod -L root;"
