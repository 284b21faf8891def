# TLS tests link the optional component (OpenSSL); their peers are Python's ssl module
# (/usr/bin/python3) and certificates made at test time by /usr/bin/openssl.
target_link_libraries(${name} PRIVATE sluice::http)
target_compile_definitions(${name} PRIVATE
    SLUICE_TEST_PYTHON="/usr/bin/python3"
    SLUICE_TEST_OPENSSL="/usr/bin/openssl"
    SLUICE_TEST_DIR="${CMAKE_CURRENT_SOURCE_DIR}")
