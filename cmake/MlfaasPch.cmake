# Precompiled headers for the heavy third-party headers (docs/testing.md, "Build time").
#
# MLFAAS_PCH (default ON): the targets named in the groups below compile with a precompiled
# header of third-party and standard headers only (never a project header), so each file must
# still include what it uses: -DMLFAAS_PCH=OFF builds the same sources without it.
#
# A group is one header list. Its targets share one precompiled header (REUSE_FROM a small
# donor object library, mlfaas_pch_<group>), as long as their compile flags are the same; a
# target with options of its own (the libFuzzer targets) gets a donor with those options. Every
# user also gets the donor's macros (spdlog's SPDLOG_*, fmt's FMT_SHARED, Boost's BOOST_*): g++
# refuses a header precompiled under a macro the file does not define, and -Winvalid-pch (on
# with every precompiled header, an error under MLFAAS_WERROR) says so instead of silently
# parsing the headers again. A file with compile options of its own (src/model/predict_kernel.cc:
# -ffast-math) compiles without one.
#
# Files that compile without it: MLFAAS_PCH_SKIP_SOURCES (paths from the top). g++ 12 reports
# a false -Warray-bounds inside libstdc++ (char_traits.h's memcpy, inlined from
# `std::string(kConst) + "/"`, one of g++ 12's known std::string false positives) in some files
# only when their headers come precompiled (parsed, same flags and order: no warning); those
# files are listed here, so -Werror stays on for every file.
#
# Which targets: those whose files mostly include these headers. Loading g++'s precompiled
# header costs ~1.3 s of CPU per file (it is 200-300 MB), parsing Asio, Beast, json, spdlog and
# GoogleTest ~4.5 s: the light libraries (common, model, sandbox, ...) would lose.
#
# Default: ON, except in the sanitizer builds (MLFAAS_SANITIZE) and the clang libFuzzer build
# (MLFAAS_FUZZ), where it was measured not to pay: instrumented code generation is ~80% of a
# file there (the heaviest g++ ASan file: 68.4 s of CPU with it, 70.0 s without), and the clang
# fuzz build took 606 s of CPU with it, 566 s without. It works there too: -DMLFAAS_PCH=ON.
if(MLFAAS_SANITIZE OR MLFAAS_FUZZ)
  set(_mlfaas_pch_default OFF)
else()
  set(_mlfaas_pch_default ON)
endif()
option(MLFAAS_PCH "Precompile the heavy third-party headers (Asio, Beast, json, spdlog, gtest)"
  ${_mlfaas_pch_default})

set(_mlfaas_pch_std
  <algorithm> <array> <atomic> <chrono> <cstddef> <cstdint> <cstring> <filesystem> <fstream>
  <functional> <map> <memory> <mutex> <optional> <set> <sstream> <string> <string_view>
  <thread> <utility> <vector>)
set(_mlfaas_pch_net
  <boost/asio/connect.hpp> <boost/asio/io_context.hpp> <boost/asio/ip/tcp.hpp>
  <boost/asio/post.hpp> <boost/asio/steady_timer.hpp> <boost/asio/write.hpp>
  <boost/beast/core.hpp> <boost/beast/http.hpp>
  <nlohmann/json.hpp> <fmt/format.h> <spdlog/spdlog.h>)

set(MLFAAS_PCH_SKIP_SOURCES
  src/cli/remote_key_admin.cc
  src/gateway/frontend/key_api.cc
  tests/loadtest/plan_parser_test.cc
  tests/package/code_tree_test.cc)

# Group net: the gateway and what talks HTTP to it (Asio, Beast, json, spdlog).
set(MLFAAS_PCH_net_HEADERS ${_mlfaas_pch_std} ${_mlfaas_pch_net})
set(MLFAAS_PCH_net_DEPS Boost::system Boost::headers nlohmann_json::nlohmann_json fmt::fmt
  spdlog::spdlog)
set(MLFAAS_PCH_net_TARGETS mlfaas_gateway mlfaas_cli_remote mlfaas_fuzz_support
  http_front_door_fuzz model_conversion_fuzz worker_channel_fuzz
  http_front_door_fuzz_replay model_conversion_fuzz_replay worker_channel_fuzz_replay)
# Group cli: the mlfaas binary's commands (CLI11 and json in every file).
set(MLFAAS_PCH_cli_HEADERS ${_mlfaas_pch_std} <CLI/CLI.hpp> <nlohmann/json.hpp> <fmt/format.h>
  <spdlog/spdlog.h>)
set(MLFAAS_PCH_cli_DEPS Boost::system Boost::headers nlohmann_json::nlohmann_json fmt::fmt
  spdlog::spdlog CLI11::CLI11)
set(MLFAAS_PCH_cli_TARGETS mlfaas)
# Group test_net: the tests that run gateways and talk HTTP to them.
set(MLFAAS_PCH_test_net_HEADERS ${_mlfaas_pch_std} ${_mlfaas_pch_net} <regex> <gtest/gtest.h>)
set(MLFAAS_PCH_test_net_DEPS ${MLFAAS_PCH_net_DEPS} GTest::gtest)
set(MLFAAS_PCH_test_net_TARGETS gateway_test gateway_serve_test gateway_fault_test
  remote_cli_test remote_client_test serving_e2e_test)
# Group test: every other target that links GoogleTest (found, not listed).
set(MLFAAS_PCH_test_HEADERS ${_mlfaas_pch_std} <nlohmann/json.hpp> <gtest/gtest.h>)
set(MLFAAS_PCH_test_DEPS Boost::system Boost::headers nlohmann_json::nlohmann_json fmt::fmt
  GTest::gtest)

# The compile definitions the imported targets `deps` give their users, transitively.
function(_mlfaas_pch_definitions out)
  set(defs "")
  set(seen "")
  set(queue ${ARGN})
  while(queue)
    list(POP_FRONT queue dep)
    if(NOT TARGET "${dep}" OR dep IN_LIST seen)
      continue()
    endif()
    list(APPEND seen "${dep}")
    get_target_property(d "${dep}" INTERFACE_COMPILE_DEFINITIONS)
    if(d)
      list(APPEND defs ${d})
    endif()
    get_target_property(l "${dep}" INTERFACE_LINK_LIBRARIES)
    if(l)
      foreach(item IN LISTS l)
        string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" item "${item}")
        list(APPEND queue "${item}")
      endforeach()
    endif()
  endwhile()
  list(REMOVE_DUPLICATES defs)
  set(${out} "${defs}" PARENT_SCOPE)
endfunction()

# Every target defined under `dir`.
function(_mlfaas_pch_all_targets dir out)
  get_property(targets DIRECTORY "${dir}" PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY "${dir}" PROPERTY SUBDIRECTORIES)
  foreach(sub IN LISTS subdirs)
    _mlfaas_pch_all_targets("${sub}" more)
    list(APPEND targets ${more})
  endforeach()
  set(${out} "${targets}" PARENT_SCOPE)
endfunction()

# Called once, at the end of the top-level CMakeLists.txt (every target exists by then).
function(mlfaas_setup_pch)
  if(NOT MLFAAS_PCH)
    return()
  endif()
  _mlfaas_pch_all_targets("${PROJECT_SOURCE_DIR}" all)
  set(listed ${MLFAAS_PCH_net_TARGETS} ${MLFAAS_PCH_cli_TARGETS} ${MLFAAS_PCH_test_net_TARGETS})
  set(MLFAAS_PCH_test_TARGETS "")
  foreach(t IN LISTS all)
    get_target_property(type ${t} TYPE)
    if(NOT type MATCHES "^(EXECUTABLE|STATIC_LIBRARY|SHARED_LIBRARY|OBJECT_LIBRARY)$"
       OR t IN_LIST listed)
      continue()
    endif()
    get_target_property(libs ${t} LINK_LIBRARIES)
    if(libs AND ("GTest::gtest" IN_LIST libs OR "GTest::gtest_main" IN_LIST libs))
      list(APPEND MLFAAS_PCH_test_TARGETS ${t})
    endif()
  endforeach()
  file(WRITE "${PROJECT_BINARY_DIR}/mlfaas_pch_donor.cc"
    "// The precompiled headers' own compile unit (cmake/MlfaasPch.cmake).\n")

  foreach(group net cli test_net test)
    _mlfaas_pch_definitions(defs ${MLFAAS_PCH_${group}_DEPS})
    # Targets by their own compile options: one shared header for each set of options.
    set(keys "")
    foreach(t IN LISTS MLFAAS_PCH_${group}_TARGETS)
      if(NOT TARGET ${t})
        continue()
      endif()
      get_target_property(opts ${t} COMPILE_OPTIONS)
      if(NOT opts)
        set(opts "")
      endif()
      string(REPLACE ";" "|" key "options:${opts}")
      list(FIND keys "${key}" k)
      if(k EQUAL -1)
        list(LENGTH keys k)
        list(APPEND keys "${key}")
        set(_opts_${k} "${opts}")
        set(_targets_${k} "")
      endif()
      list(APPEND _targets_${k} ${t})
    endforeach()
    list(LENGTH keys n)
    if(n EQUAL 0)
      continue()
    endif()
    math(EXPR last "${n} - 1")
    foreach(k RANGE ${last})
      set(donor mlfaas_pch_${group})
      if(k GREATER 0)
        set(donor mlfaas_pch_${group}_${k})
      endif()
      add_library(${donor} OBJECT "${PROJECT_BINARY_DIR}/mlfaas_pch_donor.cc")
      target_link_libraries(${donor} PRIVATE ${MLFAAS_PCH_${group}_DEPS})
      target_compile_definitions(${donor} PRIVATE ${defs})
      if(_opts_${k})
        target_compile_options(${donor} PRIVATE ${_opts_${k}})
      endif()
      target_precompile_headers(${donor} PRIVATE ${MLFAAS_PCH_${group}_HEADERS})
      foreach(t IN LISTS _targets_${k})
        target_precompile_headers(${t} REUSE_FROM ${donor})
        target_compile_definitions(${t} PRIVATE ${defs})
        # Files with compile options of their own cannot use the shared header.
        get_target_property(srcs ${t} SOURCES)
        get_target_property(dir ${t} SOURCE_DIR)
        foreach(s IN LISTS srcs)
          get_filename_component(abs "${s}" ABSOLUTE BASE_DIR "${dir}")
          get_source_file_property(sopts "${abs}" TARGET_DIRECTORY ${t} COMPILE_OPTIONS)
          get_source_file_property(sflags "${abs}" TARGET_DIRECTORY ${t} COMPILE_FLAGS)
          file(RELATIVE_PATH rel "${PROJECT_SOURCE_DIR}" "${abs}")
          if(sopts OR sflags OR rel IN_LIST MLFAAS_PCH_SKIP_SOURCES)
            set_source_files_properties("${abs}" TARGET_DIRECTORY ${t}
              PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
          endif()
        endforeach()
      endforeach()
    endforeach()
  endforeach()
endfunction()
