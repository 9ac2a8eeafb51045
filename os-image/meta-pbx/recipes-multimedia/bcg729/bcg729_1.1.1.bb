SUMMARY = "G.729A/B codec library from Belledonne Communications"
HOMEPAGE = "https://gitlab.linphone.org/BC/public/bcg729"
LICENSE = "GPL-3.0-only"
# LICENSE.txt is the GPLv3 text since 1.1.0; checksum not verified against a checkout here
# (no network): check it with the first real build.
LIC_FILES_CHKSUM = "file://LICENSE.txt;md5=d32239bcb673463ab874e80d47fae504"

# The upstream GitHub mirror; the commit is the one that wrote the 1.1.1 changelog entry
# (found in a code index; `git ls-remote ... refs/tags/1.1.1` must confirm it before release).
SRC_URI = "git://github.com/BelledonneCommunications/bcg729.git;protocol=https;branch=master"
SRCREV = "faaa895862165acde6df8add722ba4f85a25007d"
S = "${WORKDIR}/git"

inherit cmake

# Shared library only: the box opens libbcg729.so.0 through FFI.
EXTRA_OECMAKE = "-DENABLE_SHARED=YES -DENABLE_STATIC=NO -DENABLE_TESTS=NO -DENABLE_MSPLUGIN=NO"

FILES:${PN}-dev += "${datadir}/Bcg729 ${libdir}/cmake"
