# Finds the CPython that subcell embeds: the newest >= 3.12 with a shared
# libpython, without hard-coded paths.
#
# Order: -DPython3_ROOT_DIR=... (or the environment variable) wins; otherwise
# pyenv's installed versions (`pyenv versions --bare` / `pyenv prefix`);
# otherwise python3.N-config on PATH, newest first; otherwise FindPython's own
# search. Subinterpreters with their own GIL (PEP 684) need 3.12.

set(SUBCELL_PYTHON_MIN 3.12)

function(_subcell_python_from_pyenv out)
  find_program(SUBCELL_PYENV pyenv HINTS "$ENV{PYENV_ROOT}/bin" "$ENV{HOME}/.pyenv/bin")
  if(NOT SUBCELL_PYENV)
    return()
  endif()
  execute_process(COMMAND "${SUBCELL_PYENV}" versions --bare
                  OUTPUT_VARIABLE versions OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE rc ERROR_QUIET)
  if(NOT rc EQUAL 0)
    return()
  endif()
  string(REPLACE "\n" ";" versions "${versions}")
  set(best "")
  foreach(v IN LISTS versions)
    # Plain releases only (3.13.0, not 3.13-dev or a virtualenv name).
    if(v MATCHES "^3\\.([0-9]+)\\.([0-9]+)$" AND v VERSION_GREATER_EQUAL SUBCELL_PYTHON_MIN)
      execute_process(COMMAND "${SUBCELL_PYENV}" prefix "${v}"
                      OUTPUT_VARIABLE prefix OUTPUT_STRIP_TRAILING_WHITESPACE
                      RESULT_VARIABLE prc ERROR_QUIET)
      string(REGEX REPLACE "^3\\.([0-9]+)\\..*" "3.\\1" minor "${v}")
      if(prc EQUAL 0 AND EXISTS "${prefix}/lib/libpython${minor}.so"
         AND (best STREQUAL "" OR v VERSION_GREATER best))
        set(best "${v}")
        set(best_prefix "${prefix}")
      endif()
    endif()
  endforeach()
  if(best)
    message(STATUS "subcell: using pyenv's CPython ${best} (${best_prefix})")
    set(${out} "${best_prefix}" PARENT_SCOPE)
  endif()
endfunction()

function(_subcell_python_from_config out)
  foreach(minor 15 14 13 12)
    find_program(SUBCELL_PY_CONFIG_${minor} python3.${minor}-config)
    if(SUBCELL_PY_CONFIG_${minor})
      execute_process(COMMAND "${SUBCELL_PY_CONFIG_${minor}}" --prefix
                      OUTPUT_VARIABLE prefix OUTPUT_STRIP_TRAILING_WHITESPACE
                      RESULT_VARIABLE rc ERROR_QUIET)
      if(rc EQUAL 0)
        message(STATUS "subcell: using CPython 3.${minor} from python3.${minor}-config (${prefix})")
        set(${out} "${prefix}" PARENT_SCOPE)
        return()
      endif()
    endif()
  endforeach()
endfunction()

if(NOT Python3_ROOT_DIR AND DEFINED ENV{Python3_ROOT_DIR})
  set(Python3_ROOT_DIR "$ENV{Python3_ROOT_DIR}")
endif()
if(NOT Python3_ROOT_DIR)
  _subcell_python_from_pyenv(_root)
  if(NOT _root)
    _subcell_python_from_config(_root)
  endif()
  if(_root)
    set(Python3_ROOT_DIR "${_root}" CACHE PATH "CPython installation subcell embeds")
  endif()
endif()

set(Python3_FIND_STRATEGY LOCATION)
set(Python3_FIND_VIRTUALENV STANDARD)
find_package(Python3 ${SUBCELL_PYTHON_MIN} COMPONENTS Interpreter Development.Embed)

if(NOT Python3_FOUND OR Python3_VERSION VERSION_LESS SUBCELL_PYTHON_MIN)
  message(FATAL_ERROR
    "subcell needs CPython >= ${SUBCELL_PYTHON_MIN} with a shared libpython (found: '${Python3_VERSION}').\n"
    "Install one (e.g. `pyenv install 3.13` with PYTHON_CONFIGURE_OPTS=--enable-shared, or your "
    "distribution's python3.13-dev) and/or point the build at it: cmake -DPython3_ROOT_DIR=/path/to/prefix")
endif()
message(STATUS "subcell: embedding CPython ${Python3_VERSION}: ${Python3_LIBRARIES}")

# Worker Pythons: each CPython >= 3.11 of another minor version than the
# embedded one gets a worker binary, subcell-py3.N, beside `subcell`, that
# runs process sessions on Pythons of that version (Debian's own python3,
# a conda env, pyenv's other versions): one engine, built once per version.
# The system's libpython is preferred (distribution packages such as numpy
# are built for it), then pyenv's newest release of that version.
#   -DSUBCELL_WORKER_PYTHONS=auto (default) | none | "3.11;3.12"
set(SUBCELL_WORKER_PYTHONS "auto" CACHE STRING "Worker Pythons: auto, none, or a list of major.minor versions")
set(SUBCELL_WORKER_PYTHON_MIN 3.11)

# Sets ${out_include}, ${out_library}, ${out_executable} for CPython 3.${minor}, or leaves them empty.
function(_subcell_find_python_version minor out_include out_library out_executable)
  set(include "")
  set(library "")
  set(executable "")
  # The system's (Debian: libpython3.N-dev).
  if(EXISTS "/usr/include/python3.${minor}/Python.h")
    find_library(_subcell_lib_3${minor} NAMES python3.${minor}
                 PATHS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE} /usr/lib64 /usr/lib NO_DEFAULT_PATH)
    if(_subcell_lib_3${minor} AND EXISTS "/usr/bin/python3.${minor}")
      set(include "/usr/include/python3.${minor}")
      set(library "${_subcell_lib_3${minor}}")
      set(executable "/usr/bin/python3.${minor}")
    endif()
  endif()
  # pyenv's newest 3.N.x with a shared libpython.
  if(NOT library AND SUBCELL_PYENV)
    execute_process(COMMAND "${SUBCELL_PYENV}" versions --bare OUTPUT_VARIABLE versions
                    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    string(REPLACE "\n" ";" versions "${versions}")
    set(best "")
    foreach(v IN LISTS versions)
      if(v MATCHES "^3\\.${minor}\\.([0-9]+)$" AND (best STREQUAL "" OR v VERSION_GREATER best))
        execute_process(COMMAND "${SUBCELL_PYENV}" prefix "${v}" OUTPUT_VARIABLE prefix
                        OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
        if(EXISTS "${prefix}/lib/libpython3.${minor}.so" AND EXISTS "${prefix}/include/python3.${minor}/Python.h")
          set(best "${v}")
          set(include "${prefix}/include/python3.${minor}")
          set(library "${prefix}/lib/libpython3.${minor}.so")
          set(executable "${prefix}/bin/python3.${minor}")
        endif()
      endif()
    endforeach()
  endif()
  set(${out_include} "${include}" PARENT_SCOPE)
  set(${out_library} "${library}" PARENT_SCOPE)
  set(${out_executable} "${executable}" PARENT_SCOPE)
endfunction()

# SUBCELL_WORKER_VERSIONS: the versions found, each with an imported target
# subcell::python3.N and SUBCELL_WORKER_EXECUTABLE_3.N.
set(SUBCELL_WORKER_VERSIONS "")
find_program(SUBCELL_PYENV pyenv HINTS "$ENV{PYENV_ROOT}/bin" "$ENV{HOME}/.pyenv/bin")
if(NOT SUBCELL_WORKER_PYTHONS STREQUAL "none")
  if(SUBCELL_WORKER_PYTHONS STREQUAL "auto")
    set(_wanted "")
    foreach(minor RANGE 11 15)
      list(APPEND _wanted "3.${minor}")
    endforeach()
  else()
    set(_wanted ${SUBCELL_WORKER_PYTHONS})
  endif()
  foreach(version IN LISTS _wanted)
    string(REGEX REPLACE "^3\\." "" minor "${version}")
    if(version VERSION_LESS SUBCELL_WORKER_PYTHON_MIN
       OR version VERSION_EQUAL "${Python3_VERSION_MAJOR}.${Python3_VERSION_MINOR}")
      continue()
    endif()
    _subcell_find_python_version(${minor} _include _library _executable)
    if(NOT _library)
      continue()
    endif()
    add_library(subcell::python${version} INTERFACE IMPORTED)
    target_include_directories(subcell::python${version} INTERFACE "${_include}")
    target_link_libraries(subcell::python${version} INTERFACE "${_library}")
    set(SUBCELL_WORKER_EXECUTABLE_${version} "${_executable}")
    list(APPEND SUBCELL_WORKER_VERSIONS ${version})
    message(STATUS "subcell: worker for CPython ${version}: ${_library}")
  endforeach()
endif()
