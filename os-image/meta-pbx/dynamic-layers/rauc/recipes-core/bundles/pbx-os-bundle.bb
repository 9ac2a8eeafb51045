SUMMARY = "PBX appliance OS update: a signed RAUC bundle of pbx-image's root file system"
DESCRIPTION = "Installed by RAUC into the inactive rootfs (A or B) of the box; the app and its \
data on the data partition are not part of it (the app has its own signed .pbxfw update)."
LICENSE = "MIT"

inherit bundle

# Must equal `compatible` in recipes-core/rauc/files/system.conf (yocto_layer_test checks it).
RAUC_BUNDLE_COMPATIBLE = "pbx-appliance-x86-64"
RAUC_BUNDLE_VERSION = "${DISTRO_VERSION}"
RAUC_BUNDLE_DESCRIPTION = "PBX appliance OS ${DISTRO_VERSION}"
RAUC_BUNDLE_FORMAT = "verity"

RAUC_BUNDLE_SLOTS = "rootfs"
RAUC_SLOT_rootfs = "pbx-image"
RAUC_SLOT_rootfs[fstype] = "ext4"

# The release signing key and certificate (chained to pbx-os-ca.cert.pem); outside the repository.
PBX_RAUC_CERT_DIR ??= "${TOPDIR}/rauc-keys"
RAUC_KEY_FILE = "${PBX_RAUC_CERT_DIR}/pbx-os-signing.key.pem"
RAUC_CERT_FILE = "${PBX_RAUC_CERT_DIR}/pbx-os-signing.cert.pem"
