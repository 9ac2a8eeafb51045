SUMMARY = "PBX appliance firmware image"
DESCRIPTION = "systemd, read-only root file system, the PBX app in the A/B app slot layout on the \
data partition, every library the app opens through FFI. Disk layout: wic/pbx-ab.wks."
LICENSE = "MIT"

inherit core-image

require conf/machine/include/pbx-x86-64.inc
COMPATIBLE_MACHINE = "qemux86-64|genericx86-64"

IMAGE_FEATURES += "read-only-rootfs"
IMAGE_LINGUAS = ""
IMAGE_INSTALL = "\
    packagegroup-core-boot \
    packagegroup-pbx-runtime \
    pbx-app \
    volatile-binds \
    ${CORE_IMAGE_EXTRA_INSTALL} \
"

IMAGE_FSTYPES = "wic ext4"
WKS_FILE = "pbx-ab.wks"
# Room on rootfs A for the app slot seed and Deno (~100 MB) beyond what the packages need.
IMAGE_ROOTFS_EXTRA_SPACE = "131072"

# No root login at all: the box is driven through its web UI/API.
ROOT_PASSWORD_LOCK = "1"
inherit extrausers
EXTRA_USERS_PARAMS = "usermod -L root;"
