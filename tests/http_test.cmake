# HTTP tests link the optional component; their peers are Python's http.server and aiohttp (Debian's
# /usr/bin/python3, which has python3-aiohttp), nginx and curl, with certificates made at test time.
target_link_libraries(${name} PRIVATE sluice::http)
target_compile_definitions(${name} PRIVATE
    SLUICE_TEST_PYTHON="/usr/bin/python3"
    SLUICE_TEST_OPENSSL="/usr/bin/openssl"
    SLUICE_TEST_NGINX="/usr/sbin/nginx"
    SLUICE_TEST_CURL="/usr/bin/curl"
    SLUICE_TEST_DIR="${CMAKE_CURRENT_SOURCE_DIR}")
set_property(TARGET ${name} PROPERTY SLUICE_TEST_TIMEOUT 120)
