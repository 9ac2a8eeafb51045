SUMMARY = "GRUB environment block for the PBX box's A/B root file systems (RAUC's grub backend)"
DESCRIPTION = "The factory grubenv (rootfs A good, B empty) deployed for wic/pbx-ab-rauc.wks \
(IMAGE_EFI_BOOT_FILES puts it next to grub.cfg on the EFI partition) and the /boot/efi mount \
point on the read-only root. Only used by distro pbx-rauc; needs nothing from meta-rauc."
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302"

DEPENDS = "grub-native"
inherit deploy

S = "${WORKDIR}"
INHIBIT_DEFAULT_DEPS = "1"

# RAUC's grub backend: ORDER = the slots to try (primary first), <slot>_OK = may boot,
# <slot>_TRY = tried once since last marked good. The factory image boots A; B holds no OS yet.
do_compile() {
    rm -f ${B}/grubenv
    grub-editenv ${B}/grubenv create
    grub-editenv ${B}/grubenv set "ORDER=A B" A_OK=1 A_TRY=0 B_OK=0 B_TRY=0
}

do_install() {
    install -d ${D}/boot/efi
}
FILES:${PN} = "/boot/efi"

do_deploy() {
    install -m 0644 ${B}/grubenv ${DEPLOYDIR}/grubenv
}
addtask deploy after do_compile before do_build
