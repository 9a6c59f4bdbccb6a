# ctest fixture `hms_node`: puts the reference implementation under
# PREFIX/node_modules, once for every suite that runs it as a live peer:
#   hms-protocol 1.2.3 (on cable 1.3.x)  the protocol (interop, hub tests)
#   hms 0.4.4                            the terminal, dock and CLI
#   cmake -DNODE=<node> -DNPM=<npm> -DPREFIX=<dir> -P npm_install.cmake
# Already installed: nothing to do, no network. Missing node or npm is an
# error, never a skip: CI must run these tests.

foreach(tool NODE NPM)
  if(NOT ${tool} OR NOT EXISTS "${${tool}}")
    message(FATAL_ERROR
      "node fixture: ${tool} was not found when CMake configured (got '${${tool}}'). "
      "The interop tests run the reference Node.js hms as a live peer and need node and npm "
      "on PATH: install them (Debian: apt-get install nodejs npm) and re-run cmake.")
  endif()
endforeach()

# name;version-regex pairs that must be present afterwards.
set(wanted "hms-protocol" "^1\\.2\\.3$" "cable" "^1\\.3\\." "hms" "^0\\.4\\.4$")

function(package_version name out)
  set(v "")
  set(file "${PREFIX}/node_modules/${name}/package.json")
  if(EXISTS "${file}")
    file(READ "${file}" text)
    string(JSON v ERROR_VARIABLE ignored GET "${text}" version)
  endif()
  set(${out} "${v}" PARENT_SCOPE)
endfunction()

function(check_all out)
  set(ok TRUE)
  set(found "")
  list(LENGTH wanted n)
  math(EXPR last "${n} - 1")
  foreach(i RANGE 0 ${last} 2)
    math(EXPR j "${i} + 1")
    list(GET wanted ${i} name)
    list(GET wanted ${j} pattern)
    package_version(${name} v)
    string(APPEND found " ${name}@${v}")
    if(NOT v MATCHES "${pattern}")
      set(ok FALSE)
    endif()
  endforeach()
  set(${out} ${ok} PARENT_SCOPE)
  set(${out}_found "${found}" PARENT_SCOPE)
endfunction()

check_all(ok)
if(ok)
  message(STATUS "node fixture: already in ${PREFIX}:${ok_found}")
  return()
endif()

file(MAKE_DIRECTORY "${PREFIX}")
# npm runs on node: let it find the same node CMake found.
get_filename_component(node_dir "${NODE}" DIRECTORY)
set(ENV{PATH} "${node_dir}:$ENV{PATH}")
message(STATUS "node fixture: npm install hms-protocol@1.2.3 hms@0.4.4 into ${PREFIX}")
execute_process(
  COMMAND "${NPM}" install --prefix "${PREFIX}" --no-audit --no-fund hms-protocol@1.2.3 hms@0.4.4
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "node fixture: npm install failed (exit ${rc}); the first run needs the npm registry")
endif()
check_all(ok)
if(NOT ok)
  message(FATAL_ERROR "node fixture: npm left${ok_found} in ${PREFIX}; "
                      "want hms-protocol 1.2.3 on cable 1.3.x and hms 0.4.4")
endif()
message(STATUS "node fixture: installed${ok_found}")
