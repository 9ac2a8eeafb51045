# The box's RAUC system configuration (files/system.conf: two ext4 root file systems found by GPT
# partition name, GRUB's environment on the EFI partition, RAUC's state on the data partition)
# and the keyring bundles are checked against. PBX_RAUC_CERT_DIR (local.conf) holds the release
# CA certificate `pbx-os-ca.cert.pem`; it never lives in this repository.
PBX_RAUC_CERT_DIR ??= "${TOPDIR}/rauc-keys"
FILESEXTRAPATHS:prepend := "${THISDIR}/files:${PBX_RAUC_CERT_DIR}:"
RAUC_KEYRING_FILE = "pbx-os-ca.cert.pem"
