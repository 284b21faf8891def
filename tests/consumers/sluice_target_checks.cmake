# Included by both consumer projects: sluice::sluice must impose nothing on its users.
get_target_property(sluice_options sluice::sluice INTERFACE_COMPILE_OPTIONS)
if(sluice_options)
    message(FATAL_ERROR "sluice::sluice imposes compile options on its users: ${sluice_options}")
endif()
get_target_property(sluice_links sluice::sluice INTERFACE_LINK_LIBRARIES)
if(sluice_links MATCHES "sluice_warnings")
    message(FATAL_ERROR "sluice::sluice passes its warning flags on to its users: ${sluice_links}")
endif()
