# install.cmake — what `cmake --install` puts where, and the shared library.
#
#   include/ringstamp/<layer>/*.h          the headers, at the path they are included by
#   lib/libringstamp_<layer>.a             one static library per layer (ringstamp::<layer>)
#   lib/libringstamp.so.<version>          every layer in one shared library (ringstamp::ringstamp)
#   lib/cmake/ringstamp/                   the CMake package: find_package(ringstamp CONFIG)
#   lib/pkgconfig/ringstamp.pc             pkg-config (links the shared library)
#   bin/ringstamp                          the command (when built)
#
# Public headers use abseil types (absl::Status, absl::StatusOr, absl::Span): a consumer must
# build against the same abseil installation (Debian's libabsl-dev), as abseil's ABI follows
# its options.h and the C++ standard it was built with.
include(CMakePackageConfigHelpers)

get_property(rs_layers GLOBAL PROPERTY RINGSTAMP_LAYERS)
get_property(rs_external GLOBAL PROPERTY RINGSTAMP_EXTERNAL)
list(REMOVE_DUPLICATES rs_external)

set(rs_objects)
foreach(layer IN LISTS rs_layers)
  list(APPEND rs_objects $<TARGET_OBJECTS:${layer}_objects>)
endforeach()
add_library(rs_shared SHARED ${rs_objects})
add_library(ringstamp::ringstamp ALIAS rs_shared)
set_target_properties(rs_shared PROPERTIES OUTPUT_NAME ringstamp EXPORT_NAME ringstamp
                                           VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR})
target_include_directories(rs_shared PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
                                            $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
target_compile_features(rs_shared PUBLIC cxx_std_20)
target_link_libraries(rs_shared PUBLIC ${rs_external})

install(DIRECTORY ${PROJECT_SOURCE_DIR}/ringstamp/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ringstamp
        COMPONENT dev FILES_MATCHING PATTERN "*.h")
install(TARGETS ${rs_layers} rs_shared EXPORT ringstampTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET ringstamp)
  install(TARGETS ringstamp RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
endif()

set(rs_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/ringstamp)
install(EXPORT ringstampTargets NAMESPACE ringstamp:: DESTINATION ${rs_cmake_dir} COMPONENT dev)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/ringstampConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/ringstampConfig.cmake INSTALL_DESTINATION ${rs_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ringstampConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/ringstampConfig.cmake ${PROJECT_BINARY_DIR}/ringstampConfigVersion.cmake
        DESTINATION ${rs_cmake_dir} COMPONENT dev)

# The .pc file finds the prefix from where it lies (${pcfiledir}), so a staged or relocated
# install (DESTDIR, --prefix at install time, a .deb) points at itself.
file(RELATIVE_PATH RS_PC_TO_PREFIX ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" RS_PC_TO_PREFIX "${RS_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/ringstamp.pc.in ${PROJECT_BINARY_DIR}/ringstamp.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/ringstamp.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
