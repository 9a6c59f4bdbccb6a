# Installs the reference implementation (npm hms-protocol 1.2.3, which pulls
# cable 1.3.x) for the interop tests. Run as a ctest fixture:
#   cmake -DNODE=... -DNPM=... -DPREFIX=<dir> -P npm_install.cmake
# A second run finds the package in place and leaves the network alone.
# Missing node or npm is an error, not a skip: CI must run these tests.

foreach(tool NODE NPM)
  if(NOT ${tool} OR NOT EXISTS "${${tool}}")
    message(FATAL_ERROR
      "interop: ${tool} not found ('${${tool}}'). The interop tests drive the "
      "reference Node.js implementation and need node (>= 14) and npm on PATH "
      "when CMake configures; install them (Debian: apt-get install nodejs npm) "
      "and re-run cmake.")
  endif()
endforeach()

set(want_version "1.2.3")
set(pkg "${PREFIX}/node_modules/hms-protocol/package.json")
set(cable_pkg "${PREFIX}/node_modules/cable/package.json")

# Prints the installed versions into the given variables ("" when absent).
function(installed_versions out_hms out_cable)
  set(hms "")
  set(cable "")
  if(EXISTS "${pkg}")
    file(READ "${pkg}" json)
    string(JSON hms ERROR_VARIABLE err GET "${json}" version)
  endif()
  if(EXISTS "${cable_pkg}")
    file(READ "${cable_pkg}" json)
    string(JSON cable ERROR_VARIABLE err GET "${json}" version)
  endif()
  set(${out_hms} "${hms}" PARENT_SCOPE)
  set(${out_cable} "${cable}" PARENT_SCOPE)
endfunction()

installed_versions(hms cable)
if(hms STREQUAL want_version AND cable MATCHES "^1\\.3\\.")
  message(STATUS "interop: hms-protocol ${hms} (cable ${cable}) already in ${PREFIX}")
  return()
endif()

message(STATUS "interop: npm install hms-protocol@${want_version} into ${PREFIX}")
file(MAKE_DIRECTORY "${PREFIX}")
# npm is a node script; make sure the node CMake found is the one it runs on.
get_filename_component(node_dir "${NODE}" DIRECTORY)
set(ENV{PATH} "${node_dir}:$ENV{PATH}")
execute_process(
  COMMAND "${NPM}" install --prefix "${PREFIX}" --no-audit --no-fund
          hms-protocol@${want_version}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "interop: npm install hms-protocol@${want_version} failed (${rc}); "
    "the npm registry must be reachable for the first run")
endif()

installed_versions(hms cable)
if(NOT hms STREQUAL want_version OR NOT cable MATCHES "^1\\.3\\.")
  message(FATAL_ERROR "interop: after npm install found hms-protocol '${hms}', "
    "cable '${cable}'; want ${want_version} on cable 1.3.x")
endif()
message(STATUS "interop: installed hms-protocol ${hms} (cable ${cable})")
