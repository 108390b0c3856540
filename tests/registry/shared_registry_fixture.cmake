# Run by ctest (TEST_INCLUDE_FILES of tests/gateway) after gtest_discover_tests' include file:
# every test of shared_registry_test (two gateways on one PostgreSQL) requires the pg_server
# fixture of tests/registry/CMakeLists.txt (PgServer.Start before, PgServer.Stop after).
foreach(_pg_test IN LISTS shared_registry_test_TESTS)
  set_tests_properties("${_pg_test}" PROPERTIES FIXTURES_REQUIRED pg_server)
endforeach()
