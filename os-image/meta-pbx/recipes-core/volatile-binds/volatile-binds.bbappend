# Read-only root file system: what the box writes lives on the data partition (/data, see
# wic/pbx-ab.wks) and is bind-mounted where the app expects it. On the first boot
# mount-copybind creates /data/app from the image's /opt/pbx (slot a, `current`), so the
# factory app is seeded once and the A/B updater then owns it. /etc is an overlay on the data
# partition (pbx-image: overlayfs-etc), so it needs no binds here.
VOLATILE_BINDS:append = "\
${PBX_DATA_MOUNT}/pbx ${localstatedir}/lib/pbx\n\
${PBX_DATA_MOUNT}/app /opt/pbx\n\
"
