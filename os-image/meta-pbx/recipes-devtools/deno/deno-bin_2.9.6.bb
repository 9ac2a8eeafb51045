SUMMARY = "Deno JavaScript/TypeScript runtime (prebuilt glibc binary from npm)"
DESCRIPTION = "The official Deno release binary as published in the npm packages \
@deno/linux-x64-glibc and @deno/linux-arm64-glibc, at the version appliance/dev.sh pins. \
Installed as ${nonarch_libdir}/pbx/deno, the path pbx-launch runs."
HOMEPAGE = "https://deno.com"
LICENSE = "MIT"
# The npm tarball carries no license file, only `"license": "MIT"` in package.json.
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302"

# PV must match DENO_VERSION in appliance/dev.sh (tests/image/yocto_layer_test.ts checks it).
NPM_REGISTRY ?= "https://registry.npmjs.org"
SRC_URI:x86-64 = "${NPM_REGISTRY}/@deno/linux-x64-glibc/-/linux-x64-glibc-${PV}.tgz;name=x64;downloadfilename=deno-linux-x64-glibc-${PV}.tgz"
SRC_URI:aarch64 = "${NPM_REGISTRY}/@deno/linux-arm64-glibc/-/linux-arm64-glibc-${PV}.tgz;name=arm64;downloadfilename=deno-linux-arm64-glibc-${PV}.tgz"
# sha256 of the npm tarballs; their sha512 matches the registry's dist.integrity
# (x64 sha512-3md4TKLC..., arm64 sha512-poqhoH9B...).
SRC_URI[x64.sha256sum] = "a6596af07f3570b4f1ffa6783bfee9942aac14a719a601baa6bf5b71bf0105e2"
SRC_URI[arm64.sha256sum] = "8e32a9c72c84c14f91fde26efbef0b5f347286f3c68b4b7d4b8040ae9e6f42ec"

COMPATIBLE_HOST = "(x86_64|aarch64).*-linux"

S = "${WORKDIR}/package"

# The interpreter path baked into the release binary (/lib64/ld-linux-x86-64.so.2,
# /lib/ld-linux-aarch64.so.1) is rewritten to where this build's glibc puts the loader.
DEPENDS = "patchelf-native"
DENO_LOADER:x86-64 = "ld-linux-x86-64.so.2"
DENO_LOADER:aarch64 = "ld-linux-aarch64.so.1"

do_configure[noexec] = "1"
do_compile[noexec] = "1"

do_install() {
    install -d ${D}${nonarch_libdir}/pbx
    install -m 0755 ${S}/deno ${D}${nonarch_libdir}/pbx/deno
    patchelf --set-interpreter ${base_libdir}/${DENO_LOADER} ${D}${nonarch_libdir}/pbx/deno
}
do_install:class-native() {
    install -d ${D}${bindir}
    install -m 0755 ${S}/deno ${D}${bindir}/deno
}

FILES:${PN} = "${nonarch_libdir}/pbx/deno"

# A prebuilt, already stripped Rust binary: nothing to strip or split, built with its own
# linker flags and hash style.
INHIBIT_PACKAGE_STRIP = "1"
INHIBIT_PACKAGE_DEBUG_SPLIT = "1"
INHIBIT_SYSROOT_STRIP = "1"
INSANE_SKIP:${PN} = "already-stripped ldflags textrel"
RDEPENDS:${PN} = "glibc libgcc"

# deno-bin-native runs appliance/update/make_bundle.ts while building pbx-app.
BBCLASSEXTEND = "native"
