# ctest fixture for the hub interop tests: puts the reference protocol (npm
# hms-protocol 1.2.3, with cable 1.3.x) under PREFIX/node_modules.
#   cmake -DNODE=<node> -DNPM=<npm> -DPREFIX=<dir> -P npm_install.cmake
# Already installed: nothing to do, no network. Missing node or npm: an
# error, never a skip, because CI has to run the interop tests.

foreach(tool NODE NPM)
  if(NOT ${tool} OR NOT EXISTS "${${tool}}")
    message(FATAL_ERROR
      "hub interop: ${tool} was not found when CMake configured (got '${${tool}}'). "
      "These tests run the reference Node.js hms-protocol and need node and npm on PATH: "
      "install them (Debian: apt-get install nodejs npm) and re-run cmake.")
  endif()
endforeach()

set(hms_json "${PREFIX}/node_modules/hms-protocol/package.json")
set(cable_json "${PREFIX}/node_modules/cable/package.json")

# Sets <out> to the "version" of the package.json at <file>, or "".
function(package_version file out)
  set(v "")
  if(EXISTS "${file}")
    file(READ "${file}" text)
    string(JSON v ERROR_VARIABLE ignored GET "${text}" version)
  endif()
  set(${out} "${v}" PARENT_SCOPE)
endfunction()

package_version("${hms_json}" hms)
package_version("${cable_json}" cable)
if(hms STREQUAL "1.2.3" AND cable MATCHES "^1\\.3\\.")
  message(STATUS "hub interop: hms-protocol ${hms} (cable ${cable}) already in ${PREFIX}")
  return()
endif()

file(MAKE_DIRECTORY "${PREFIX}")
# npm runs on node: let it find the same node CMake found.
get_filename_component(node_dir "${NODE}" DIRECTORY)
set(ENV{PATH} "${node_dir}:$ENV{PATH}")
message(STATUS "hub interop: npm install hms-protocol@1.2.3 into ${PREFIX}")
execute_process(
  COMMAND "${NPM}" install --prefix "${PREFIX}" --no-audit --no-fund hms-protocol@1.2.3
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "hub interop: npm install hms-protocol@1.2.3 failed (exit ${rc}); "
                      "the first run needs the npm registry")
endif()

package_version("${hms_json}" hms)
package_version("${cable_json}" cable)
if(NOT hms STREQUAL "1.2.3" OR NOT cable MATCHES "^1\\.3\\.")
  message(FATAL_ERROR "hub interop: npm left hms-protocol '${hms}', cable '${cable}' in ${PREFIX}; "
                      "want 1.2.3 on cable 1.3.x")
endif()
message(STATUS "hub interop: installed hms-protocol ${hms} (cable ${cable})")
