SUMMARY = "Libraries the PBX opens through FFI, and what the box's OS integration runs"
DESCRIPTION = "The `package` column of files/ffi-libraries.tsv (one line per soname the drivers \
open with Deno.dlopen, plus those later features add), time zones and CA certificates."
LICENSE = "MIT"

inherit packagegroup

def pbx_ffi_packages(d):
    import os
    path = os.path.join(d.getVar("PBX_LAYERDIR"), "files", "ffi-libraries.tsv")
    bb.parse.mark_dependency(d, path)
    pkgs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) != 3:
                bb.fatal("%s: expected soname<TAB>recipe<TAB>package, got %r" % (path, line))
            if cols[2] not in pkgs:
                pkgs.append(cols[2])
    return " ".join(pkgs)

RDEPENDS:${PN} = "\
    ${@pbx_ffi_packages(d)} \
    tzdata \
    ca-certificates \
    openssl-bin \
    iproute2 \
"
