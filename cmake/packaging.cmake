# packaging.cmake — CPack: two Debian packages from one build (scripts/package.sh).
#   ringstamp      the command, libringstamp.so.N, man pages, bash completion; its postinst
#                  makes a `ringstamp` group and gives the binary CAP_NET_RAW and
#                  CAP_NET_ADMIN, runnable by that group only (as Wireshark's dumpcap).
#   ringstamp-dev  headers, static libraries, the CMake package and ringstamp.pc.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ringstamp)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "TPACKET_V3 packet engine with hardware timestamping")
set(CPACK_PACKAGE_DESCRIPTION
    "Latency probes (STAMP, ICMP) with hardware, software and userspace stamps at both ends, "
    "pcap capture with nanosecond stamps and a traffic generator on AF_PACKET rings.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "ringstamp developers <ringstamp-dev@users.noreply.local>")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME ringstamp)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)  # Depends from the binary's own libraries
set(CPACK_DEBIAN_RUNTIME_PACKAGE_RECOMMENDS "libcap2-bin, tcpdump")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA ${PROJECT_SOURCE_DIR}/cmake/debian/postinst)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_DEV_PACKAGE_NAME ringstamp-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "ringstamp (= ${PROJECT_VERSION}), libabsl-dev, liburing-dev, libpcap-dev, libmnl-dev, pkg-config")
set(CPACK_DEBIAN_DEV_DESCRIPTION "ringstamp: headers, static libraries, CMake package and pkg-config file")
include(CPack)
