# The hub's page: apps/hub/web/* embedded into hms_hub_lib at build time
# (embed.cmake), so hms-hub serves it with nothing else installed. Included
# from apps/CMakeLists.txt after hms_hub_lib is defined.
set(_hms_web_files index.html login.html app.js style.css)
list(TRANSFORM _hms_web_files PREPEND ${CMAKE_CURRENT_LIST_DIR}/)
string(REPLACE ";" "," _hms_web_arg "${_hms_web_files}")
set(_hms_web_out ${CMAKE_CURRENT_BINARY_DIR}/web_assets_data.cpp)
add_custom_command(OUTPUT ${_hms_web_out}
  COMMAND ${CMAKE_COMMAND} -DOUT=${_hms_web_out} -DFILES=${_hms_web_arg}
          -P ${CMAKE_CURRENT_LIST_DIR}/embed.cmake
  DEPENDS ${_hms_web_files} ${CMAKE_CURRENT_LIST_DIR}/embed.cmake
  COMMENT "Embedding the hub's page (apps/hub/web)"
  VERBATIM)
target_sources(hms_hub_lib PRIVATE ${_hms_web_out})
