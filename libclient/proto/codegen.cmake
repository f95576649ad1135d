# Generates the message structs and codec tables (proto_msgs.h/.c) from the
# protocol descriptions in schema/. The build reads only files in this folder.
file(GLOB KC_PROTO_SCHEMAS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/schema/*.kcs)
set(KC_PROTO_GENERATOR ${CMAKE_CURRENT_SOURCE_DIR}/gen/kcs_gen.py
    ${CMAKE_CURRENT_SOURCE_DIR}/gen/kcs.py)
set(KC_PROTO_GENERATED_SOURCES ${CMAKE_CURRENT_BINARY_DIR}/proto_msgs.c
    ${CMAKE_CURRENT_BINARY_DIR}/proto_msgs.h)

add_custom_command(
  OUTPUT ${KC_PROTO_GENERATED_SOURCES}
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/gen/kcs_gen.py
          --out-dir ${CMAKE_CURRENT_BINARY_DIR} ${KC_PROTO_SCHEMAS}
  DEPENDS ${KC_PROTO_GENERATOR} ${KC_PROTO_SCHEMAS}
  COMMENT "Generating the protocol codec tables from schema/*.kcs"
  VERBATIM)

# Regenerates docs/protocol.md's support matrix: cmake --build DIR --target protocol_doc
add_custom_target(protocol_doc
  COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/gen/kcs_gen.py
          --doc-into ${PROJECT_SOURCE_DIR}/docs/protocol.md ${KC_PROTO_SCHEMAS}
  DEPENDS ${KC_PROTO_GENERATOR} ${KC_PROTO_SCHEMAS}
  VERBATIM)

if(KC_BUILD_TESTS)
  add_test(NAME proto.kcs_gen COMMAND ${Python3_EXECUTABLE}
           ${CMAKE_CURRENT_SOURCE_DIR}/gen/test_kcs_gen.py)
endif()
