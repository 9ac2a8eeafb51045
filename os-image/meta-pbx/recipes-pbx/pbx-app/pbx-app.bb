SUMMARY = "PBX appliance application, installed as slot a of the A/B app layout"
DESCRIPTION = "The app tree appliance/update/make_bundle.ts --slot-dir writes (the same tree a \
signed firmware bundle carries, with its offline DENO_DIR) in /opt/pbx/slots/a, an empty \
/opt/pbx/slots/b, /opt/pbx/current -> slots/a, the launcher and privileged helper in \
${nonarch_libdir}/pbx/ and the systemd units of appliance/box/systemd/."
LICENSE = "CLOSED"
PV = "0.2.0"

inherit useradd systemd

# The slot tree is made before bitbake runs, by the product's own writer (docs/yocto.md):
#   deno run -A appliance/update/make_bundle.ts --slot-dir <build>/pbx-slot
# That step fetches the npm packages deno.json pins into the slot's DENO_DIR, so no bitbake task
# needs the network or a Deno on the build host. PBX_SLOT_DIR may be set in local.conf.
PBX_SLOT_DIR ??= "${TOPDIR}/pbx-slot"
# The launcher, the helper and the units come from this repository (PBX_SRC_DIR, layer.conf).
FILESEXTRAPATHS:prepend := "${PBX_SRC_DIR}/appliance/box:${PBX_SRC_DIR}/os-image/test-image:"
SRC_URI = "\
    file://${PBX_SLOT_DIR};subdir=slot-src \
    file://pbx-launch \
    file://pbx-helper \
    file://systemd \
    file://80-pbx-default.network \
    file://pbx-cache-warm.service \
"

RDEPENDS:${PN} = "deno-bin packagegroup-pbx-runtime"

# The service user: the app runs unprivileged; privileged acts go through the helper units.
USERADD_PACKAGES = "${PN}"
USERADD_PARAM:${PN} = "--system --home-dir ${localstatedir}/lib/pbx --no-create-home --shell /sbin/nologin --user-group pbx"

do_configure[noexec] = "1"
do_compile[noexec] = "1"

do_install() {
    slot=$(find ${WORKDIR}/slot-src -name mod.ts -maxdepth 3 | head -n 1)
    [ -n "$slot" ] || bbfatal "no mod.ts in ${PBX_SLOT_DIR}: run make_bundle.ts --slot-dir first"
    slot=$(dirname $slot)
    install -d ${D}/opt/pbx/slots/a ${D}/opt/pbx/slots/b
    cp -R --no-preserve=ownership $slot/. ${D}/opt/pbx/slots/a/
    # Deno caches transpiled code by absolute path: pbx-cache-warm.service makes it at
    # /opt/pbx/slots/a on the first boot.
    rm -rf ${D}/opt/pbx/slots/a/.deno_dir/gen
    ln -sfn slots/a ${D}/opt/pbx/current
    chown -R pbx:pbx ${D}/opt/pbx

    # The data partition's mount point on the read-only root (pbx-image's /sbin/init mounts it
    # there before systemd, for the /etc overlay).
    install -d -m 0755 ${D}${PBX_DATA_MOUNT}

    install -d ${D}${nonarch_libdir}/pbx
    install -m 0755 ${WORKDIR}/pbx-launch ${D}${nonarch_libdir}/pbx/pbx-launch
    install -m 0755 ${WORKDIR}/pbx-helper ${D}${nonarch_libdir}/pbx/pbx-helper

    install -d ${D}${systemd_system_unitdir}
    for u in ${WORKDIR}/systemd/* ${WORKDIR}/pbx-cache-warm.service; do
        install -m 0644 $u ${D}${systemd_system_unitdir}/
    done
    install -d ${D}${nonarch_libdir}/systemd/network
    install -m 0644 ${WORKDIR}/80-pbx-default.network ${D}${nonarch_libdir}/systemd/network/

    # The release update key (PBX_UPDATE_KEY: a .pub file, base64 of the raw Ed25519 key).
    install -d -m 0755 ${D}${sysconfdir}/pbx/update-keys
    if [ -n "${PBX_UPDATE_KEY}" ]; then
        install -m 0644 ${PBX_UPDATE_KEY} ${D}${sysconfdir}/pbx/update-keys/release.pub
    else
        bbwarn "PBX_UPDATE_KEY is not set: the image trusts no update key"
    fi
}
PBX_UPDATE_KEY ??= ""

SYSTEMD_SERVICE:${PN} = "pbx.service pbx-firstboot.service pbx-factory-reset.service pbx-cache-warm.service pbx-helper.socket"
SYSTEMD_AUTO_ENABLE = "enable"

FILES:${PN} = "/opt/pbx ${PBX_DATA_MOUNT} ${nonarch_libdir}/pbx/pbx-launch ${nonarch_libdir}/pbx/pbx-helper \
    ${systemd_system_unitdir} ${nonarch_libdir}/systemd/network ${sysconfdir}/pbx"
# The slot is an app tree (TypeScript, npm packages in DENO_DIR), not target binaries.
INSANE_SKIP:${PN} = "file-rdeps arch already-stripped"
