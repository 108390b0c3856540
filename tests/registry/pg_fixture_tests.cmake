# Run by ctest (TEST_INCLUDE_FILES of tests/registry) after gtest_discover_tests' include file:
# every discovered registry_test test whose name says it uses PostgreSQL requires the pg_server
# fixture (PgServer.Start before it, PgServer.Stop after it). registry_test_TESTS lists them.
foreach(_pg_test IN LISTS registry_test_TESTS)
  # Parameterized names end in "/postgres", or "/postgres  # GetParam() = postgres".
  if(_pg_test MATCHES "/postgres( |$)|^PgRegistryTest\\.")
    set_tests_properties("${_pg_test}" PROPERTIES FIXTURES_REQUIRED pg_server)
  endif()
endforeach()
